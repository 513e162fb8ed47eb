package transporttest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// recorder is a testing.TB that records failures instead of failing the
// test, so the meta-tests can show that each check catches a faulty layer.
// Only the methods the checks use are implemented; the embedded nil TB
// makes any other call panic, which would show up as a test failure.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	msgs   []string
	failed bool
}

func (r *recorder) Helper()                   {}
func (r *recorder) Logf(string, ...any)       {}
func (r *recorder) Log(...any)                {}
func (r *recorder) Error(args ...any)         { r.fail(fmt.Sprint(args...)) }
func (r *recorder) Errorf(f string, a ...any) { r.fail(fmt.Sprintf(f, a...)) }
func (r *recorder) Fatalf(f string, a ...any) { r.fail(fmt.Sprintf(f, a...)); runtime.Goexit() }
func (r *recorder) Fatal(args ...any)         { r.fail(fmt.Sprint(args...)); runtime.Goexit() }
func (r *recorder) Name() string              { return "recorder" }
func (r *recorder) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}

func (r *recorder) fail(msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed = true
	r.msgs = append(r.msgs, msg)
}

func (r *recorder) messages() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.msgs, "\n")
}

// runCheck runs c against newLayer with a recorder, on its own goroutine so
// that Fatalf's Goexit ends only the check.
func runCheck(c check, newLayer layerFunc, o ConformanceOptions) *recorder {
	rec := &recorder{}
	o, err := o.resolve()
	if err != nil {
		rec.fail(err.Error())
		return rec
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.run(rec, newLayer, o)
	}()
	<-done
	return rec
}

// Good layers: each must pass every check.

func passThrough(next http.RoundTripper) http.RoundTripper { return next }

// headerLayer clones before it adds a header, as a correct layer does.
func headerLayer(next http.RoundTripper) http.RoundTripper {
	return RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		r := req.Clone(req.Context())
		r.Header.Set("X-Layer", "1")
		return next.RoundTrip(r)
	})
}

// drainAndClose is the bounded drain a good retrying layer does.
func drainAndClose(b io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(b, 64<<10))
	_ = b.Close()
}

// retryLayer retries failures, 5xx, 429 and 401 up to 3 attempts, replaying
// the body through GetBody and draining (bounded) what it discards.
func retryLayer(next http.RoundTripper) http.RoundTripper {
	return RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		const attempts = 3
		for n := 0; ; n++ {
			r := req.Clone(req.Context())
			if n > 0 && req.Body != nil {
				if req.GetBody == nil {
					return nil, fmt.Errorf("retry: not replayable")
				}
				b, err := req.GetBody()
				if err != nil {
					return nil, fmt.Errorf("retry: %w", err)
				}
				r.Body = b
			}
			resp, err := next.RoundTrip(r)
			retry := err != nil || resp.StatusCode >= 500 || resp.StatusCode == 429 || resp.StatusCode == 401
			if !retry || n == attempts-1 || req.Context().Err() != nil {
				if err != nil {
					return nil, fmt.Errorf("retry: after %d attempts: %w", n+1, err)
				}
				return resp, nil
			}
			if resp != nil {
				drainAndClose(resp.Body)
			}
		}
	})
}

func TestConformanceGoodLayers(t *testing.T) {
	for name, l := range map[string]layerFunc{"pass-through": passThrough, "header": headerLayer, "retry": retryLayer} {
		t.Run(name, func(t *testing.T) { Conformance(t, l) })
	}
}

// Bad layers: each must fail the named check.

type badLayer struct {
	name  string
	check string
	layer layerFunc
}

func badLayers() []badLayer {
	return []badLayer{
		{"mutates caller header", "RequestNotModified", func(next http.RoundTripper) http.RoundTripper {
			return RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
				req.Header.Set("Authorization", "Bearer leaked")
				return next.RoundTrip(req)
			})
		}},
		{"replaces caller context", "RequestNotModified", func(next http.RoundTripper) http.RoundTripper {
			return RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
				*req = *req.WithContext(context.WithoutCancel(req.Context()))
				return next.RoundTrip(req)
			})
		}},
		{"mutates caller URL after returning", "RequestNotModified", func(next http.RoundTripper) http.RoundTripper {
			return RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
				resp, err := next.RoundTrip(req.Clone(req.Context()))
				if err != nil {
					return nil, err
				}
				resp.Body = &onClose{ReadCloser: resp.Body, f: func() { req.URL.RawQuery = "x=redacted" }}
				return resp, nil
			})
		}},
		{"swaps in its own body and never closes the caller's", "RequestBodyClosed", func(next http.RoundTripper) http.RoundTripper {
			return RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
				r := req.Clone(req.Context())
				if req.Body != nil {
					b, _ := io.ReadAll(req.Body)
					r.Body = io.NopCloser(bytes.NewReader(b))
				}
				return next.RoundTrip(r)
			})
		}},
		{"takes a replay body and never sends it", "RequestBodyClosed", func(next http.RoundTripper) http.RoundTripper {
			return RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
				if req.GetBody != nil {
					_, _ = req.GetBody() // "prepared" for a retry, then leaked
				}
				return next.RoundTrip(req)
			})
		}},
		{"drops caller context values", "RequestReachesNext", func(next http.RoundTripper) http.RoundTripper {
			return RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
				return next.RoundTrip(req.Clone(context.Background()))
			})
		}},
		{"loses the body on retry", "RequestReachesNext", func(next http.RoundTripper) http.RoundTripper {
			return RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
				resp, err := next.RoundTrip(req)
				if err != nil || resp.StatusCode < 500 {
					return resp, err
				}
				drainAndClose(resp.Body)
				return next.RoundTrip(req.Clone(req.Context())) // re-sends the consumed body
			})
		}},
		{"detaches from caller cancellation", "CancellationReachesNext", func(next http.RoundTripper) http.RoundTripper {
			return RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
				ctx, cancel := context.WithCancel(context.WithoutCancel(req.Context()))
				go func() {
					<-req.Context().Done()
					cancel() // cancels next, but reports its own error
				}()
				_, err := next.RoundTrip(req.Clone(ctx))
				if err != nil {
					return nil, fmt.Errorf("detached: %v", err)
				}
				return nil, fmt.Errorf("detached: no response")
			})
		}},
		{"returns a nil body", "ResponseContract", func(next http.RoundTripper) http.RoundTripper {
			return RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
				resp, err := next.RoundTrip(req)
				if err != nil {
					return nil, err
				}
				if resp.Body == http.NoBody {
					resp.Body = nil
				}
				return resp, nil
			})
		}},
		{"returns response and error", "ResponseContract", func(next http.RoundTripper) http.RoundTripper {
			return RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
				resp, err := next.RoundTrip(req)
				if err == nil && resp.StatusCode >= 500 {
					return resp, fmt.Errorf("server error")
				}
				return resp, err
			})
		}},
		{"hides next's error", "ResponseContract", func(next http.RoundTripper) http.RoundTripper {
			return RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
				resp, err := next.RoundTrip(req)
				if err != nil {
					return nil, fmt.Errorf("layer: %v", err)
				}
				return resp, nil
			})
		}},
		{"drops a response without closing it", "DiscardedResponsesClosed", func(next http.RoundTripper) http.RoundTripper {
			return RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
				resp, err := next.RoundTrip(req.Clone(req.Context()))
				if err == nil && resp.StatusCode >= 500 && req.Body == nil {
					return next.RoundTrip(req.Clone(req.Context()))
				}
				return resp, err
			})
		}},
		{"closes without draining", "DiscardedResponsesClosed", func(next http.RoundTripper) http.RoundTripper {
			return RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
				resp, err := next.RoundTrip(req.Clone(req.Context()))
				if err == nil && resp.StatusCode >= 500 && req.Body == nil {
					resp.Body.Close()
					return next.RoundTrip(req.Clone(req.Context()))
				}
				return resp, err
			})
		}},
		{"drains without bound", "DiscardedResponsesClosed", func(next http.RoundTripper) http.RoundTripper {
			return RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
				resp, err := next.RoundTrip(req.Clone(req.Context()))
				if err == nil && resp.StatusCode >= 500 && req.Body == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					return next.RoundTrip(req.Clone(req.Context()))
				}
				return resp, err
			})
		}},
		{"shares one request between callers", "ConcurrentUse", func(next http.RoundTripper) http.RoundTripper {
			var once sync.Once
			var first http.Header
			return RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
				once.Do(func() { first = req.Header.Clone() })
				r := req.Clone(req.Context())
				r.Header = first.Clone() // stale state from another call
				return next.RoundTrip(r)
			})
		}},
	}
}

type onClose struct {
	io.ReadCloser
	f func()
}

func (c *onClose) Close() error { c.f(); return c.ReadCloser.Close() }

func TestConformanceCatchesBadLayers(t *testing.T) {
	byName := make(map[string]check)
	for _, c := range checks {
		byName[c.name] = c
	}
	for _, bl := range badLayers() {
		t.Run(bl.name, func(t *testing.T) {
			c, ok := byName[bl.check]
			if !ok {
				t.Fatalf("no check %q", bl.check)
			}
			rec := runCheck(c, bl.layer, ConformanceOptions{Goroutines: 4, Requests: 4})
			if !rec.Failed() {
				t.Fatalf("check %s passed a layer that %s", bl.check, bl.name)
			}
			t.Logf("%s reported:\n%s", bl.check, rec.messages())
		})
	}
}

// Every bad layer must also be caught by the full suite, not only by the
// check aimed at it; and the good layers fail no check (run above). This
// guards against a check that flags everything.
func TestChecksPassGoodLayersIndividually(t *testing.T) {
	for _, c := range checks {
		for name, l := range map[string]layerFunc{"pass-through": passThrough, "retry": retryLayer} {
			if rec := runCheck(c, l, ConformanceOptions{}); rec.Failed() {
				t.Errorf("%s flagged good layer %s:\n%s", c.name, name, rec.messages())
			}
		}
	}
}

func TestConformanceOptionsResolve(t *testing.T) {
	o, err := ConformanceOptions{}.resolve()
	if err != nil || o.URL != DefaultConformanceURL || o.Goroutines != DefaultConformanceGoroutines || o.Requests != DefaultConformanceRequests {
		t.Fatalf("defaults: %+v, %v", o, err)
	}
	for _, bad := range []ConformanceOptions{{URL: "/relative"}, {URL: "ftp://x.test/"}, {URL: "://"}, {Goroutines: -1}} {
		if _, err := bad.resolve(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestConformanceCustomURL(t *testing.T) {
	const want = "http://127.0.0.1:8080/only?k=v"
	var mu sync.Mutex
	seen := map[string]bool{}
	Conformance(t, func(next http.RoundTripper) http.RoundTripper {
		return RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
			mu.Lock()
			seen[req.URL.String()] = true
			mu.Unlock()
			return next.RoundTrip(req)
		})
	}, ConformanceOptions{URL: want, Goroutines: 2, Requests: 2})
	if len(seen) != 1 || !seen[want] {
		t.Fatalf("URLs sent: %v, want only %s", seen, want)
	}
}

// Every check must be shown to catch at least one faulty layer.
func TestEveryCheckHasABadLayer(t *testing.T) {
	covered := make(map[string]bool)
	for _, bl := range badLayers() {
		covered[bl.check] = true
	}
	for _, c := range checks {
		if !covered[c.name] {
			t.Errorf("check %s has no bad layer in the meta-test", c.name)
		}
	}
}

// The failure report names the header that changed but never prints its
// value, which may be a credential.
func TestNotModifiedReportHidesValues(t *testing.T) {
	rec := runCheck(check{"RequestNotModified", checkRequestNotModified}, badLayers()[0].layer, ConformanceOptions{})
	msg := rec.messages()
	if !strings.Contains(msg, "Authorization") || strings.Contains(msg, "leaked") {
		t.Fatalf("report should name Authorization without its value:\n%s", msg)
	}
}
