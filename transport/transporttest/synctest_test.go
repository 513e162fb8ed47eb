package transporttest

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"
)

// slowRetryLayer waits a (virtual) second between attempts, selecting on
// the caller's context as a real retry layer does.
func slowRetryLayer(next http.RoundTripper) http.RoundTripper {
	return RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		for n := 0; ; n++ {
			r := req.Clone(req.Context())
			if n > 0 && req.GetBody != nil {
				b, err := req.GetBody()
				if err != nil {
					return nil, fmt.Errorf("slowretry: %w", err)
				}
				r.Body = b
			}
			resp, err := next.RoundTrip(r)
			if n == 2 || (err == nil && resp.StatusCode < 500) {
				return resp, err
			}
			if resp != nil {
				_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
				_ = resp.Body.Close()
			}
			t := time.NewTimer(time.Second)
			select {
			case <-t.C:
			case <-req.Context().Done():
				t.Stop()
				return nil, fmt.Errorf("slowretry: %w", req.Context().Err())
			}
		}
	})
}

// With Synctest set, the checks run in virtual time: a layer that waits a
// second between attempts passes without the test waiting for real.
func TestConformanceSynctest(t *testing.T) {
	var mu sync.Mutex
	var waited time.Duration
	outside := 0
	Conformance(t, func(next http.RoundTripper) http.RoundTripper {
		layer := slowRetryLayer(next)
		return RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
			start := time.Now()
			resp, err := layer.RoundTrip(req)
			mu.Lock()
			waited += time.Since(start)
			if start.Year() != 2000 { // a bubble's clock starts at 2000-01-01 UTC
				outside++
			}
			mu.Unlock()
			return resp, err
		})
	}, ConformanceOptions{Synctest: true})
	// Scenarios that retry wait at least 1 s each in virtual time; the run
	// would take minutes if the waits were real.
	if outside > 0 {
		t.Fatalf("%d calls ran outside a synctest bubble", outside)
	}
	if waited < 10*time.Second {
		t.Fatalf("layer waited %v in total; the waits did not run in virtual time", waited)
	}
}
