//go:build !(linux || darwin || freebsd || openbsd || netbsd || dragonfly)

package main

import (
	"errors"
	"os"
)

// isTerminal: prompting without echo is implemented for Unix terminals
// only; elsewhere the value must come from stdin (a pipe or a file).
func isTerminal(*os.File) bool { return false }

var promptSignals = []os.Signal{os.Interrupt}

func pendingInput(*os.File) int { return 0 }

func signalExitCode(os.Signal) int { return 1 }

func echoOff(*os.File) (func(), lineKeys, error) {
	return nil, lineKeys{}, errors.New("cannot turn off terminal echo here; pipe the value into stdin")
}
