//go:build linux || darwin || freebsd || openbsd || netbsd || dragonfly

package main

import (
	"os"
	"os/signal"

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
	// Ctrl-Z (SIGTSTP) stops the process with the terminal restored, and
	// fg (SIGCONT) turns echo off again: a shell gives the terminal its
	// own settings back when a job stops and does not hand the job's back
	// on fg, so what is typed after fg would be echoed. (Echo goes off
	// again on SIGCONT, not when kill returns: a process stops some time
	// after sending itself SIGSTOP.)
	jobSig := make(chan os.Signal, 2)
	signal.Notify(jobSig, unix.SIGTSTP, unix.SIGCONT)
	if err := unix.IoctlSetTermios(fd, ioctlSetTermios, &t); err != nil {
		signal.Stop(jobSig)
		return nil, lineKeys{}, err
	}
	done, watched := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(watched)
		for {
			select {
			case s := <-jobSig:
				if s == unix.SIGTSTP {
					unix.IoctlSetTermios(fd, ioctlSetTermios, old)
					unix.Kill(unix.Getpid(), unix.SIGSTOP)
				} else {
					unix.IoctlSetTermios(fd, ioctlSetTermios, &t)
				}
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(jobSig)
		close(done)
		<-watched
		unix.IoctlSetTermios(fd, ioctlSetTermios, old)
	}, keys, nil
}
