//go:build !race

package signer

// raceEnabled: see race18_internal_test.go.
const raceEnabled = false
