//go:build darwin || freebsd || openbsd || netbsd || dragonfly

package main

import "golang.org/x/sys/unix"

const (
	ioctlGetTermios = unix.TIOCGETA
	ioctlSetTermios = unix.TIOCSETA
	// FIONREAD, _IOR('f', 127, int) on all of them (golang.org/x/sys/unix
	// does not define it there).
	ioctlInQueue = 0x4004667f
)
