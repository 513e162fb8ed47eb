//go:build race

package bench

// raceEnabled: the race detector makes sync.Pool drop items at random, so
// the allocation counts of pooled code (the signer's hash state, the OTel
// SDK, slog, io.Copy's buffers) vary from run to run under -race. The
// allocation tests skip there; scripts/test.sh runs them without -race.
const raceEnabled = true
