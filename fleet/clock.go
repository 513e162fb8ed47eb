package fleet

import (
	"time"

	"github.com/securecall/securecall/internal/monoclock"
)

// Ends and timestamps a store keeps in this process (a cached cooldown or
// open end, when it was read, a lease's expiry, the next probe) are ticks
// on the monotonic clock (internal/monoclock), so that a step of the wall
// clock neither stretches nor shortens them. Redis holds remaining times
// (TTLs, and the GCRA on Redis's TIME), which no replica's clock affects.

// clock is where a layer or store reads the time; tests step its wall
// clock.
type clock = monoclock.Clock

// sysClock is the system's clock.
var sysClock = monoclock.System

// monoTicks returns the ticks of the reading now.
func monoTicks(now time.Time) int64 { return monoclock.Ticks(now) }
