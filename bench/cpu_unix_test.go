//go:build unix

package bench

import "syscall"

// processCPU returns the CPU time the whole process has used (user +
// system, every thread: the client, an in-process server, the GC), in
// nanoseconds; ok is false when the platform cannot tell.
func processCPU() (ns int64, ok bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return ru.Utime.Nano() + ru.Stime.Nano(), true
}
