package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
	"golang.org/x/time/rate"
)

// ledgerBody is a request or response body that counts its Reads and
// Closes, and the Reads made after a Close.
type ledgerBody struct {
	name string
	mu   sync.Mutex
	data string
	off  int
	// failAt: a Read past this many bytes fails (mid-upload); 0: never.
	failAt     int
	reads      int
	closes     int
	lateReads  int
	closeStack string
	// redirected: the base answered the request this body was sent with
	// by a redirect, after which http.Client closes it once more
	// (net/http's own, whatever the RoundTripper).
	redirected bool
}

func (b *ledgerBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.reads++
	if b.closes > 0 {
		b.lateReads++
		if b.lateReads == 1 {
			buf := make([]byte, 8<<10)
			b.closeStack += "\nlate read:\n" + string(buf[:runtime.Stack(buf, false)])
		}
		return 0, errors.New("read after close")
	}
	if b.failAt > 0 && b.off >= b.failAt {
		return 0, errors.New("disk on fire")
	}
	if b.off >= len(b.data) {
		return 0, io.EOF
	}
	end := len(b.data)
	if b.failAt > 0 && b.failAt < end {
		end = b.failAt
	}
	n := copy(p, b.data[b.off:end])
	b.off += n
	return n, nil
}

func (b *ledgerBody) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closes++
	if b.closes <= 2 {
		buf := make([]byte, 8<<10)
		b.closeStack += fmt.Sprintf("\nclose %d:\n", b.closes) + string(buf[:runtime.Stack(buf, false)])
	}
	return nil
}

func (b *ledgerBody) counts() (reads, closes, late int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.reads, b.closes, b.lateReads
}

// ledger keeps every body a case made.
type ledger struct {
	mu    sync.Mutex
	reqs  []*ledgerBody
	resps []*ledgerBody
}

func (l *ledger) reqBody(data string, failAt int) *ledgerBody {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := &ledgerBody{name: fmt.Sprintf("request body #%d", len(l.reqs)), data: data, failAt: failAt}
	l.reqs = append(l.reqs, b)
	return b
}

func (l *ledger) respBody(status int, data string) *ledgerBody {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := &ledgerBody{name: fmt.Sprintf("response body #%d (%d)", len(l.resps), status), data: data}
	l.resps = append(l.resps, b)
	return b
}

// fakeBase is a base transport that behaves as http.Transport does with
// the request body (reads it, closes it, on every path) and answers with
// ledger response bodies.
type fakeBase struct {
	l     *ledger
	mu    sync.Mutex
	calls int
	// answer gives attempt n's answer (status 0: the error).
	answer func(req *http.Request, n int) (int, http.Header, error)
}

func (f *fakeBase) RoundTrip(req *http.Request) (*http.Response, error) {
	f.mu.Lock()
	n := f.calls
	f.calls++
	f.mu.Unlock()
	if req.Body != nil {
		_, rerr := io.Copy(io.Discard, req.Body)
		req.Body.Close()
		if rerr != nil {
			return nil, fmt.Errorf("fake base: writing the body: %w", rerr)
		}
	}
	status, h, err := f.answer(req, n)
	if lb, ok := req.Body.(*ledgerBody); ok && status >= 300 && status < 400 {
		lb.mu.Lock()
		lb.redirected = true
		lb.mu.Unlock()
	}
	if status == 0 {
		return nil, err
	}
	if h == nil {
		h = http.Header{}
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json")
	}
	b := f.l.respBody(status, `{"n":1}`)
	return &http.Response{
		StatusCode: status, Status: http.StatusText(status), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: b, ContentLength: 7, Request: req,
	}, nil
}

func (f *fakeBase) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func answerAlways(status int) func(*http.Request, int) (int, http.Header, error) {
	return func(*http.Request, int) (int, http.Header, error) { return status, nil, nil }
}

type failingKeys struct{}

func (failingKeys) SigningKey(context.Context) (*signer.Key, error) {
	return nil, errors.New("key vault down")
}

const ledgerOrigin = "https://api.example.test"

// TestBodiesClosedOnceOnEveryRefusal: on every path where the stack
// refuses or fails a request, through Do, HTTPClient().Do and
// Transport().RoundTrip, the request body (the caller's, and each one
// GetBody made) is closed exactly once and never read after its Close,
// each response the stack discards is closed exactly once (the one it
// returns, once, by the caller), and no goroutine is left behind.
func TestBodiesClosedOnceOnEveryRefusal(t *testing.T) {
	type tcase struct {
		name string
		url  string
		// failAt: the caller's body fails its Read there (0: never).
		failAt int
		// getBody: what GetBody does (nil: a fresh ledger body).
		getBodyErr bool
		noGetBody  bool
		rc         func(*transport.ResilienceConfig)
		more       func(l *ledger) []client.Option
		answer     func(*http.Request, int) (int, http.Header, error)
		ctx        func() (context.Context, context.CancelFunc)
		// pre runs before the call with a send function, and returns what
		// to do after the call's checks (nil: nothing).
		pre       func(t *testing.T, c *client.Client, send func() (*http.Response, error)) func()
		wantErr   bool
		wantPanic bool
	}
	cases := []tcase{
		{name: "success", answer: answerAlways(200)},
		{name: "egress denied", url: "https://other.example.test/x", wantErr: true},
		{name: "plain http refused", url: "http://api.example.test/x", wantErr: true},
		{name: "bad method refused", url: "", wantErr: true},
		{
			name: "breaker open",
			rc: func(rc *transport.ResilienceConfig) {
				rc.Retry.MaxAttempts = 1
				rc.DisableBreaker = false
				rc.Breaker.ConsecutiveFailures = 1
				rc.Breaker.MinRequests = 1
			},
			answer: answerAlways(500),
			pre: func(t *testing.T, c *client.Client, send func() (*http.Response, error)) func() {
				resp, err := send()
				if err == nil {
					resp.Body.Close()
				}
				return nil
			},
			wantErr: true,
		},
		{
			name: "throttle refusal (rate)",
			rc: func(rc *transport.ResilienceConfig) {
				rc.DisableThrottle = false
				rc.Throttle.Limit = transport.HostLimit{Rate: rate.Limit(0.001), Burst: 1}
				rc.Throttle.MaxWait = time.Millisecond
			},
			answer: answerAlways(200),
			pre: func(t *testing.T, c *client.Client, send func() (*http.Response, error)) func() {
				if resp, err := send(); err == nil {
					resp.Body.Close()
				}
				return nil
			},
			wantErr: true,
		},
		{
			name: "throttle wait timeout (slot held)",
			rc: func(rc *transport.ResilienceConfig) {
				rc.DisableThrottle = false
				rc.Throttle.Limit = transport.HostLimit{MaxConcurrent: 1}
				rc.Throttle.MaxWait = 30 * time.Millisecond
			},
			answer: answerAlways(200),
			pre: func(t *testing.T, c *client.Client, send func() (*http.Response, error)) func() {
				resp, err := send()
				if err != nil {
					t.Fatalf("first call: %v", err)
				}
				return func() { resp.Body.Close() }
			},
			wantErr: true,
		},
		{
			name:   "context ended before the call",
			answer: answerAlways(200),
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx, cancel
			},
			wantErr: true,
		},
		{
			name: "context ended during the call (base fails)",
			answer: func(req *http.Request, n int) (int, http.Header, error) {
				<-req.Context().Done()
				return 0, nil, req.Context().Err()
			},
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 50*time.Millisecond)
			},
			wantErr: true,
		},
		{
			name: "late answer past the deadline",
			answer: func(req *http.Request, n int) (int, http.Header, error) {
				<-req.Context().Done()
				return 200, nil, nil
			},
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 50*time.Millisecond)
			},
		},
		{name: "retry budget exhausted (503)", answer: answerAlways(503)},
		{name: "retry budget exhausted (errors)", answer: func(*http.Request, int) (int, http.Header, error) {
			return 0, nil, errors.New("connection reset by peer")
		}, wantErr: true},
		{name: "429 retried then 200", answer: func(_ *http.Request, n int) (int, http.Header, error) {
			if n == 0 {
				return 429, http.Header{"Retry-After": {"0"}}, nil
			}
			return 200, nil, nil
		}},
		{
			name:    "sign failure (key source)",
			answer:  answerAlways(200),
			more:    func(*ledger) []client.Option { return []client.Option{client.WithHMACSigning(failingKeys{})} },
			wantErr: true,
		},
		{
			name:   "token failure",
			answer: answerAlways(200),
			rc:     func(rc *transport.ResilienceConfig) { rc.Retry.MaxAttempts = 1 },
			more: func(*ledger) []client.Option {
				return []client.Option{client.WithTokenSource(tokens.SourceFunc(func(context.Context) (tokens.Token, error) {
					return tokens.Token{}, errors.New("idp down")
				}))}
			},
			wantErr: true,
		},
		{
			name: "401 replayed after invalidation",
			answer: func(_ *http.Request, n int) (int, http.Header, error) {
				if n == 0 {
					return 401, nil, nil
				}
				return 200, nil, nil
			},
			more: func(*ledger) []client.Option {
				var mu sync.Mutex
				i := 0
				return []client.Option{client.WithTokenSource(tokens.SourceFunc(func(context.Context) (tokens.Token, error) {
					mu.Lock()
					defer mu.Unlock()
					i++
					return tokens.NewToken(fmt.Sprintf("tok%d", i), "Bearer", time.Now().Add(time.Hour)), nil
				}))}
			},
		},
		{
			name: "401 twice",
			answer: func(_ *http.Request, n int) (int, http.Header, error) {
				return 401, nil, nil
			},
			more: func(*ledger) []client.Option {
				return []client.Option{client.WithTokenSource(tokens.SourceFunc(func(context.Context) (tokens.Token, error) {
					return tokens.NewToken("tok", "Bearer", time.Now().Add(time.Hour)), nil
				}))}
			},
		},
		{name: "GetBody failure on replay", answer: answerAlways(503), getBodyErr: true},
		{name: "no GetBody, retryable failure", answer: answerAlways(503), noGetBody: true},
		{name: "body read error mid-upload (replayed)", answer: answerAlways(200), failAt: 3},
		{name: "body read error mid-upload, no GetBody", answer: answerAlways(200), failAt: 3, noGetBody: true, wantErr: true},
		{
			name:   "response too large (limit)",
			answer: func(*http.Request, int) (int, http.Header, error) { return 200, nil, nil },
			more:   func(*ledger) []client.Option { return []client.Option{client.WithMaxResponseBytes(3)} },
		},
		{
			name: "response media type refused",
			answer: func(*http.Request, int) (int, http.Header, error) {
				return 200, http.Header{"Content-Type": {"text/html"}}, nil
			},
			more: func(*ledger) []client.Option {
				return []client.Option{client.WithResponseMediaTypes("application/json")}
			},
			wantErr: true,
		},
		{
			name:   "call layer panics",
			answer: answerAlways(200),
			more: func(*ledger) []client.Option {
				return []client.Option{client.WithCallLayer(func(next http.RoundTripper) (http.RoundTripper, error) {
					return panicRT{}, nil
				})}
			},
			wantPanic: true,
		},
		{
			name:   "call layer refuses",
			answer: answerAlways(200),
			more: func(*ledger) []client.Option {
				return []client.Option{client.WithCallLayer(func(next http.RoundTripper) (http.RoundTripper, error) {
					return refuseRT{}, nil
				})}
			},
			wantErr: true,
		},
		{
			name:   "client closed",
			answer: answerAlways(200),
			pre: func(t *testing.T, c *client.Client, _ func() (*http.Response, error)) func() {
				c.Close()
				return nil
			},
			wantErr: true,
		},
		{
			name: "redirect refused (foreign origin)",
			answer: func(*http.Request, int) (int, http.Header, error) {
				return 307, http.Header{"Location": {"https://evil.example.test/x"}}, nil
			},
		},
		{
			name: "redirect too many",
			answer: func(*http.Request, int) (int, http.Header, error) {
				return 307, http.Header{"Location": {ledgerOrigin + "/again"}}, nil
			},
			more: func(*ledger) []client.Option { return []client.Option{client.WithMaxRedirects(2)} },
		},
		{
			name: "redirect followed (same origin, 307)",
			answer: func(_ *http.Request, n int) (int, http.Header, error) {
				if n == 0 {
					return 307, http.Header{"Location": {ledgerOrigin + "/there"}}, nil
				}
				return 200, nil, nil
			},
		},
	}
	vias := []string{"Do", "HTTPClient", "Transport"}
	for _, tc := range cases {
		for _, via := range vias {
			t.Run(tc.name+"/"+via, func(t *testing.T) {
				before := runtime.NumGoroutine()
				l := &ledger{}
				base := &fakeBase{l: l, answer: tc.answer}
				if base.answer == nil {
					base.answer = answerAlways(200)
				}
				rc := transport.StandardPreset()
				rc.Retry.BaseDelay = time.Millisecond
				rc.Retry.MaxDelay = time.Millisecond
				rc.DisableBreaker = true
				rc.DisableThrottle = true
				if tc.rc != nil {
					tc.rc(&rc)
				}
				o := []client.Option{
					client.WithOrigins(ledgerOrigin),
					client.WithBaseTransport(base),
					client.WithResilience(rc),
				}
				if tc.more != nil {
					o = append(o, tc.more(l)...)
				}
				c, err := client.New(o...)
				if err != nil {
					t.Fatal(err)
				}
				u := tc.url
				method := http.MethodPut
				if u == "" && tc.name == "bad method refused" {
					method = "BAD METHOD"
				}
				if u == "" {
					u = ledgerOrigin + "/items/1"
				}
				newReq := func(ctx context.Context) *http.Request {
					body := l.reqBody("hello world", tc.failAt)
					req, err := http.NewRequestWithContext(ctx, http.MethodPut, u, body)
					if err != nil {
						t.Fatal(err)
					}
					req.Method = method
					req.ContentLength = int64(len(body.data))
					switch {
					case tc.noGetBody:
					case tc.getBodyErr:
						req.GetBody = func() (io.ReadCloser, error) { return nil, errors.New("no replay") }
					default:
						req.GetBody = func() (io.ReadCloser, error) { return l.reqBody("hello world", 0), nil }
					}
					return req
				}
				send := func(ctx context.Context) (*http.Response, error) {
					req := newReq(ctx)
					switch via {
					case "Do":
						return c.Do(req)
					case "HTTPClient":
						return c.HTTPClient().Do(req)
					default:
						return c.Transport().RoundTrip(req)
					}
				}
				var after func()
				if tc.pre != nil {
					after = tc.pre(t, c, func() (*http.Response, error) { return send(context.Background()) })
				}
				ctx, cancel := context.Background(), context.CancelFunc(func() {})
				if tc.ctx != nil {
					ctx, cancel = tc.ctx()
				}
				var resp *http.Response
				panicked := func() (p bool) {
					defer func() {
						if r := recover(); r != nil {
							p = true
						}
					}()
					resp, err = send(ctx)
					return false
				}()
				cancel()
				if panicked != tc.wantPanic {
					t.Errorf("panicked %v, want %v", panicked, tc.wantPanic)
				}
				if !panicked && tc.wantErr && err == nil {
					t.Errorf("no error, want one (status %d)", resp.StatusCode)
				}
				if err != nil {
					t.Logf("error: %v", err)
				}
				if resp != nil && err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				} else if resp != nil {
					// A refused redirect: http.Client closed it.
					resp.Body.Close()
				}
				if after != nil {
					after()
				}
				c.Close()
				// Bodies may be closed by a goroutine after RoundTrip
				// returns (the contract allows it): settle.
				check := func() []string {
					var bad []string
					l.mu.Lock()
					all := append(append([]*ledgerBody(nil), l.reqs...), l.resps...)
					l.mu.Unlock()
					for _, b := range all {
						reads, closes, late := b.counts()
						b.mu.Lock()
						redirected := b.redirected
						b.mu.Unlock()
						want := closes == 1
						if redirected && via != "Transport" {
							want = closes == 2 // net/http closes it again after a redirect
						}
						if tc.wantPanic {
							// The panic goes on (as net/http's own transport
							// does): not closed.
							want = closes <= 1
						}
						if !want || late != 0 {
							s := fmt.Sprintf("%s: %d reads, closed %d times, %d reads after close", b.name, reads, closes, late)
							s += b.closeStack
							bad = append(bad, s)
						}
					}
					return bad
				}
				var bad []string
				for i := 0; i < 200; i++ {
					if bad = check(); bad == nil {
						break
					}
					time.Sleep(5 * time.Millisecond)
				}
				if bad != nil {
					t.Errorf("base calls %d:\n%s", base.Calls(), strings.Join(bad, "\n"))
				}
				settleGoroutines(t, before)
			})
		}
	}
}

type panicRT struct{}

func (panicRT) RoundTrip(*http.Request) (*http.Response, error) { panic("layer bug") }

type refuseRT struct{}

func (refuseRT) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		req.Body.Close()
	}
	return nil, errors.New("refused by the layer")
}
