package transport

import (
	"net/http"
	"time"
)

// readClockBefore returns now(), a clock of the caller's (AuditConfig.Now,
// InventoryConfig.Now) read before req is handed on: one that panics (a
// bug in it) has req's body closed, as RoundTrip must on every path, and
// its panic goes on unchanged.
func readClockBefore(now func() time.Time, req *http.Request) time.Time {
	returned := false
	defer func() {
		if !returned {
			closeBody(req)
		}
	}()
	t := now()
	returned = true
	return t
}

// readClockAfter returns now(), a clock of the caller's read with resp,
// next's response (nil when there was none), in hand: one that panics has
// resp's body closed (its connection is not leaked, nor a throttle's slot
// below kept), and its panic goes on unchanged.
func readClockAfter(now func() time.Time, resp *http.Response) time.Time {
	returned := false
	defer func() {
		if !returned && resp != nil && resp.Body != nil {
			_ = resp.Body.Close()
		}
	}()
	t := now()
	returned = true
	return t
}

// readClockUnwinding returns now(), a clock of the caller's read to record
// a call while a panic (next's, or the same clock's in a layer below) is
// on its way to the caller: one that panics too has its panic dropped
// (recovered here) and fallback returned, so that the caller sees the
// first panic, the bug that started it, not the clock's.
func readClockUnwinding(now func() time.Time, fallback time.Time) (t time.Time) {
	defer func() {
		if recover() != nil {
			t = fallback
		}
	}()
	return now()
}
