// Package httpdate reads a response's own clock: the time its Date field
// says the server made it, moved on by a cache's Age. A Retry-After given
// as an HTTP-date is of the server's clock too, so the wait it means is
// that date minus this reading, whatever the client's clock says.
package httpdate

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/securecall/securecall/internal/ascii"
)

// maxAgeSeconds bounds an Age that can be added to a time.Time without
// overflowing a Duration.
const maxAgeSeconds = math.MaxInt64 / int64(time.Second)

// ServerNow returns the time a Retry-After HTTP-date in h is read
// against: the response's Date field when it is valid (RFC 9110 §6.6.1:
// when the server made the response), moved on by a valid Age field (RFC
// 9111 §5.1: how long ago a cache got it from the server), so a client
// clock minutes off does not turn "in 2 minutes" into "now" or into 7
// minutes; otherwise now.
func ServerNow(h http.Header, now time.Time) time.Time {
	ds := h["Date"]
	if len(ds) == 0 {
		return now
	}
	t, err := http.ParseTime(strings.TrimSpace(ds[0]))
	if err != nil {
		return now
	}
	if as := h["Age"]; len(as) > 0 {
		if a := strings.TrimSpace(as[0]); a != "" && ascii.AllDigits(a) {
			if n, err := strconv.ParseInt(a, 10, 64); err == nil && n <= maxAgeSeconds {
				t = t.Add(time.Duration(n) * time.Second)
			}
		}
	}
	return t
}
