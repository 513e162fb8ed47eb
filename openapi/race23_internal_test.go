//go:build race

package openapi

// raceEnabled: the race detector makes sync.Pool drop items at random (the
// router's regular expressions use one), so allocation counts are not
// stable under -race.
const raceEnabled = true
