//go:build !race

package openapi

// raceEnabled: see race23_internal_test.go.
const raceEnabled = false
