package signer

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a VerifierOptions.Clock the test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// signalRead tells when the verifier first reads the request body: it
// has taken its time and the time the body read starts (a signal at the
// key lookup came before the latter, which a loaded machine could read
// after the test had moved the clock on).
type signalRead struct {
	io.ReadCloser
	once   sync.Once
	looked chan struct{}
}

func (s *signalRead) Read(p []byte) (int, error) {
	s.once.Do(func() {
		select {
		case s.looked <- struct{}{}:
		default:
		}
	})
	return s.ReadCloser.Read(p)
}

// A replay of a captured request that starts inside its window and sends
// its body slowly must not be accepted once the window has ended: by then
// the original's nonce may be gone from the store (other traffic pruned
// it; a Redis key expires by itself), so the claim after the body
// would succeed. Over HTTP/1.1 and HTTP/2, the replay is refused as stale
// and the handler runs twice (original, fresh request), not three times.
// The store is not a NonceChecker (as a fleet.NonceStore, whose keys
// Redis expires): a MemoryNonceStore, which is, refuses the replay before
// its body is read (TestVerifyReplayRefusedBeforeBodyRead).
func TestMiddlewareSlowBodyReplayAfterWindowRefused(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		name := "h1"
		if h2 {
			name = "h2"
		}
		t.Run(name, func(t *testing.T) {
			k := testKey(t, "k")
			s := mustSigner(t, Options{Keys: StaticKey(k)})
			t0 := time.Now()
			clk := &fakeClock{t: t0}
			looked := make(chan struct{}, 1)
			var lastErr atomic.Pointer[error]
			v := newTestVerifier(t, VerifierOptions{
				Keys: StaticKey(k), Clock: clk.Now, Nonces: &countingStore{m: NewMemoryNonceStore(0)},
				ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
					lastErr.Store(&err)
					DefaultErrorHandler(w, r, err)
				},
			})
			var calls atomic.Int64
			mw := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				calls.Add(1)
				w.WriteHeader(http.StatusNoContent)
			}))
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				r.Body = &signalRead{ReadCloser: r.Body, looked: looked}
				mw.ServeHTTP(w, r)
			}))
			srv.EnableHTTP2 = h2
			srv.StartTLS()
			defer srv.Close()
			c := srv.Client()
			send := func(req *http.Request) int {
				t.Helper()
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return resp.StatusCode
			}
			drain := func() {
				select {
				case <-looked:
				default:
				}
			}

			const body = `{"transfer":100}`
			orig := signed(t, s, "POST", srv.URL+"/pay", body, t0)
			captured := orig.Header.Clone()
			if code := send(orig); code != http.StatusNoContent {
				t.Fatalf("original: %d", code)
			}
			drain()

			// The replay starts 80 s in (window: 60 s + 30 s skew) and
			// holds its body back.
			clk.Set(t0.Add(80 * time.Second))
			pr, pw := io.Pipe()
			replay, _ := http.NewRequest("POST", srv.URL+"/pay", pr)
			replay.Header = captured.Clone()
			replay.ContentLength = int64(len(body))
			done := make(chan int, 1)
			go func() {
				resp, err := c.Do(replay)
				if err != nil {
					done <- -1
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				done <- resp.StatusCode
			}()
			<-looked // the verifier has its times and waits for the body

			// Long after the window, another request is served (its claim
			// drops the original's expired nonce), then the replay's body
			// arrives.
			clk.Set(t0.Add(200 * time.Second))
			if code := send(signed(t, s, "POST", srv.URL+"/pay", `{"transfer":1}`, t0.Add(200*time.Second))); code != http.StatusNoContent {
				t.Fatalf("fresh request: %d", code)
			}
			if _, err := io.WriteString(pw, body); err != nil {
				t.Fatal(err)
			}
			pw.Close()
			code := <-done
			if code != http.StatusUnauthorized {
				t.Errorf("slow replay after the window: %d, want 401", code)
			}
			if p := lastErr.Load(); p == nil || !errors.Is(*p, ErrStale) {
				t.Errorf("error: %v, want ErrStale", p)
			}
			if n := calls.Load(); n != 2 {
				t.Errorf("handler ran %d times, want 2 (original, fresh)", n)
			}
		})
	}
}
