package monoclock

import (
	"math"
	"strings"
	"testing"
	"time"
)

// Ticks are the distance from start, a reading with a monotonic part
// (whatever the wall clock said at start: a start a century back would
// lose it on a machine booted at 1970), plus the century.
func TestTicksCountFromAMonotonicReading(t *testing.T) {
	if !strings.Contains(start.String(), " m=") {
		t.Fatalf("start %v has no monotonic reading", start)
	}
	if got := Ticks(start); got != int64(Offset) {
		t.Fatalf("Ticks(start) = %d, want %d", got, int64(Offset))
	}
	if a, b := Ticks(start.Add(time.Second)), Ticks(start); a-b != int64(time.Second) {
		t.Fatalf("a second later is %d ticks later", a-b)
	}
}

func TestConversions(t *testing.T) {
	now := time.Now()
	c := System
	if got := c.After(now, math.MaxInt64); got != math.MaxInt64 {
		t.Fatalf("After saturates at %d, want MaxInt64", got)
	}
	end := now.Add(30 * time.Second)
	u := c.Ticks(end, now)
	if d := u - c.Mono(now); d != int64(30*time.Second) {
		t.Fatalf("Ticks of an end 30 s away is %v from now", time.Duration(d))
	}
	if back := c.Time(u, now); !back.Equal(end) || back.Sub(now) != 30*time.Second {
		t.Fatalf("Time(Ticks(end)) = %v, want %v", back, end)
	}
}
