package transport

import (
	"math"
	"time"
)

// The resilience layers keep the ends they hold in this process (a
// host's cooldown, a breaker's open end and the one it published) as
// ticks: nanoseconds on the monotonic clock (see clockStart), so that a step of
// the wall clock (NTP, an operator, a resumed virtual machine) neither
// stretches nor shortens them. time.Time values cross the API (a
// CooldownStore's or BreakerStore's ends, CircuitOpenError.Until) and are
// converted against a clock reading taken with them, in its wall clock's
// frame, with its monotonic reading when it has one.

// Ticks count from a century before clockStart, the process's first
// reading, so that every reading is positive (0 means "none"), also inside
// a testing/synctest bubble, whose clock starts in 2000 and whose times
// carry no monotonic reading (they count on the bubble's wall clock then,
// consistently within the bubble). The century is added to the distance
// from clockStart, not subtracted from clockStart: a time.Time keeps its
// monotonic reading only for wall times from 1885 on, so on a machine that
// boots at 1970 and is set right by NTP later, a start a century back
// would carry none and every tick would follow the wall clock's step.
var clockStart = time.Now()

// tickOffset is clockStart's ticks.
const tickOffset = 100 * 365 * 24 * time.Hour

// monoTicks returns the ticks of the reading now.
func monoTicks(now time.Time) int64 { return int64(now.Sub(clockStart) + tickOffset) }

// clock is where a layer or store reads the time; tests step its wall
// clock.
type clock struct {
	// now reads the wall and monotonic clocks (time.Now).
	now func() time.Time
	// mono returns the ticks of a reading of now: from its monotonic
	// reading when it has one (time.Now's do).
	mono func(now time.Time) int64
}

// sysClock is the system's clock.
var sysClock = clock{now: time.Now, mono: monoTicks}

// after returns the ticks d after the reading now (saturating).
func (c clock) after(now time.Time, d time.Duration) int64 {
	n := c.mono(now)
	if int64(d) > math.MaxInt64-n {
		return math.MaxInt64
	}
	return n + int64(d)
}

// ticks converts t, a time in the frame of the reading now (an end a
// caller computed from its own clock reading, or a date), to ticks: now's
// ticks plus t's distance from now (on the monotonic clock when both have
// a reading, on the wall clock otherwise).
func (c clock) ticks(t, now time.Time) int64 { return c.after(now, t.Sub(now)) }

// time converts u (ticks) to a time in the frame of the reading now: the
// wall clock time it is at, as now's wall clock reads, with a monotonic
// reading when now has one.
func (c clock) time(u int64, now time.Time) time.Time {
	return now.Add(time.Duration(u - c.mono(now)))
}
