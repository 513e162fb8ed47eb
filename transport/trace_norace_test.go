//go:build !race

package transport_test

// traceRaceEnabled: see trace_race_test.go.
const traceRaceEnabled = false
