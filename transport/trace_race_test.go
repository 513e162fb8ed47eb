//go:build race

package transport_test

// traceRaceEnabled: the race detector makes sync.Pool drop items at random,
// so the SDK's allocation counts are not stable under -race.
const traceRaceEnabled = true
