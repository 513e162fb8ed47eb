// Package monoclock keeps the ends and timestamps a process holds in
// memory (a cooldown's end, a breaker's open end, a window's start, a
// lease's expiry) as ticks: nanoseconds on the monotonic clock, so that a
// step of the wall clock (NTP, an operator, a resumed virtual machine)
// neither stretches nor shortens them. time.Time values that cross an API
// (an end given to or answered by a store, an error's Until) are converted
// against a clock reading taken with them, in its wall clock's frame, with
// its monotonic reading when it has one. The transport package and the
// fleet module share it.
package monoclock

import (
	"math"
	"time"
)

// Ticks count from a century before start, the process's first reading,
// so that every reading is positive (0 can mean "none"), also inside a
// testing/synctest bubble, whose clock starts in 2000 and whose times carry
// no monotonic reading (they count on the bubble's wall clock then,
// consistently within the bubble). The century is added to the distance
// from start, not subtracted from start: a time.Time keeps its monotonic
// reading only for wall times from 1885 on, so on a machine that boots at
// 1970 and is set right by NTP later, a start a century back would carry
// none and every tick would follow the wall clock's step.
var start = time.Now()

// Offset is the ticks of the process's first reading.
const Offset = 100 * 365 * 24 * time.Hour

// Ticks returns the ticks of the reading now: from its monotonic reading
// when it has one (time.Now's do).
func Ticks(now time.Time) int64 { return int64(now.Sub(start) + Offset) }

// Clock is where a layer or store reads the time; tests step its wall
// clock.
type Clock struct {
	// Now reads the wall and monotonic clocks (time.Now).
	Now func() time.Time
	// Mono returns the ticks of a reading of Now.
	Mono func(now time.Time) int64
}

// System is the system's clock.
var System = Clock{Now: time.Now, Mono: Ticks}

// After returns the ticks d after the reading now (saturating).
func (c Clock) After(now time.Time, d time.Duration) int64 {
	n := c.Mono(now)
	if int64(d) > math.MaxInt64-n {
		return math.MaxInt64
	}
	return n + int64(d)
}

// Ticks converts t, a time in the frame of the reading now (an end a
// caller computed from its own clock reading, or a date), to ticks: now's
// ticks plus t's distance from now (on the monotonic clock when both have
// a reading, on the wall clock otherwise).
func (c Clock) Ticks(t, now time.Time) int64 { return c.After(now, t.Sub(now)) }

// Time converts u (ticks) to a time in the frame of the reading now: the
// wall clock time it is at, as now's wall clock reads, with a monotonic
// reading when now has one.
func (c Clock) Time(u int64, now time.Time) time.Time {
	return now.Add(time.Duration(u - c.Mono(now)))
}
