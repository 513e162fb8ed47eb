package transport

import (
	"time"

	"github.com/securecall/securecall/internal/monoclock"
)

// The resilience layers keep the ends they hold in this process (a
// host's cooldown, a breaker's open end and the one it published) as
// ticks on the monotonic clock (internal/monoclock), so that a step of the
// wall clock neither stretches nor shortens them.

// clock is where a layer or store reads the time; tests step its wall
// clock.
type clock = monoclock.Clock

// sysClock is the system's clock.
var sysClock = monoclock.System

// monoTicks returns the ticks of the reading now.
func monoTicks(now time.Time) int64 { return monoclock.Ticks(now) }
