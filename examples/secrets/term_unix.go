//go:build linux || darwin || freebsd || openbsd || netbsd || dragonfly

package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// promptSignals are the signals that would end the process with the
// terminal's echo off: readNoEcho restores the terminal on them.
var promptSignals = []os.Signal{unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT}

// signalExitCode is the exit status a shell reports for a process ended
// by s: 128 plus its number.
func signalExitCode(s os.Signal) int {
	if n, ok := s.(unix.Signal); ok {
		return 128 + int(n)
	}
	return 1
}

// isTerminal reports whether f is a terminal.
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), ioctlGetTermios)
	return err == nil
}

// pendingInput is the number of bytes waiting to be read from the
// terminal f (0 when it cannot tell).
func pendingInput(f *os.File) int {
	n, err := unix.IoctlGetInt(int(f.Fd()), ioctlInQueue)
	if err != nil {
		return 0
	}
	return n
}

// echoOff turns the terminal's echo and its line editing off (it cuts a
// line at 4095 bytes on Linux, 1 KiB on macOS, and drops the rest: a long
// token pasted at the prompt would be stored cut short) and returns a
// function that restores the previous state, and the terminal's editing
// keys, which readNoEcho interprets itself. Signals (Ctrl-C) stay on.
func echoOff(f *os.File) (func(), lineKeys, error) {
	fd := int(f.Fd())
	old, err := unix.IoctlGetTermios(fd, ioctlGetTermios)
	if err != nil {
		return nil, lineKeys{}, err
	}
	key := func(i int) int {
		// _POSIX_VDISABLE: 0 on Linux, 0xff on the BSDs and macOS.
		if c := old.Cc[i]; c != 0 && c != 0xff {
			return int(c)
		}
		return -1
	}
	keys := lineKeys{erase: key(unix.VERASE), kill: key(unix.VKILL), eof: key(unix.VEOF), werase: -1, lnext: -1}
	if old.Lflag&unix.IEXTEN != 0 {
		keys.werase, keys.lnext = key(unix.VWERASE), key(unix.VLNEXT)
	}
	t := *old
	t.Lflag &^= unix.ECHO | unix.ICANON
	t.Lflag |= unix.ISIG
	t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(fd, ioctlSetTermios, &t); err != nil {
		return nil, lineKeys{}, err
	}
	return func() { unix.IoctlSetTermios(fd, ioctlSetTermios, old) }, keys, nil
}
