// Command resilience shows securecall's resilience layers at work, offline,
// against flaky HTTPS upstreams it embeds on loopback (with a CA it
// generates):
//
//  1. a GET answered 503, 503, then 200 succeeds on its third attempt
//     (transport.Attempts says so);
//  2. a POST whose answer is lost (the server acted, then the connection
//     dropped) is not sent again when it has no Idempotency-Key; with
//     client.WithIdempotencyKeys it is sent again with the same key, and the
//     server, which deduplicates by key, executes it once;
//  3. a 429 with Retry-After: 1 is honoured before the next attempt; a
//     Retry-After of 120 s with 2 s left before the deadline fails at once
//     with a typed error that says why, instead of sleeping into the
//     deadline;
//  4. an outage: the upstream answers 503 to everything, the circuit
//     breaker opens and calls fail fast without reaching the upstream;
//     once the open period is over and the upstream has recovered, one
//     probe closes the breaker.
//
// Each scenario has its own upstream and its own client, so the per-host
// state (retry budget, cooldown, breaker, throttle) of one does not leak
// into the next.
//
//	go run ./examples/resilience
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "resilience:", err)
		os.Exit(1)
	}
}

// run plays the four scenarios and writes a short report of each to out.
func run(ctx context.Context, out io.Writer) error {
	ca, err := testpki.NewCA("resilience example root")
	if err != nil {
		return err
	}
	leaf, err := ca.Server("127.0.0.1")
	if err != nil {
		return err
	}
	l := &lab{ca: ca, leaf: leaf}
	for _, scenario := range []func(context.Context, io.Writer, *lab) error{
		flakyGET, lostPOST, retryAfter, outage,
	} {
		if err := scenario(ctx, out, l); err != nil {
			return err
		}
	}
	return nil
}

// lab starts upstreams and the clients that call them.
type lab struct {
	ca   *testpki.CA
	leaf *testpki.Leaf
}

// upstream serves h over HTTPS (HTTP/1.1) on 127.0.0.1.
func (l *lab) upstream(h http.Handler) *httptest.Server {
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{l.leaf.TLS}}
	srv.StartTLS()
	return srv
}

// client returns a securecall client for srv: it trusts the example's CA.
// Nothing loosens the SSRF-safe dialer: srv's origin is an IP literal
// (https://127.0.0.1:port), whose exact address the dialer allows as the
// caller named it; any other loopback or private address, or a name
// resolving to one, stays refused. (An API reached by a name on a private
// network needs WithAllowedNetworks, with the narrowest prefix that
// holds it.) The resilience layers are the defaults (the "standard"
// preset) unless opts say otherwise.
func (l *lab) client(srv *httptest.Server, opts ...client.Option) (*client.Client, error) {
	return client.New(append([]client.Option{
		client.WithOrigins(srv.URL),
		client.WithTLSConfig(&tls.Config{RootCAs: testpki.Pool(l.ca)}),
	}, opts...)...)
}

// result is what a call returned: a response (read and closed) or an error.
type result struct {
	status   string
	body     string
	header   http.Header
	attempts int // transport.Attempts(resp)
	err      error
}

func (r result) String() string {
	if r.err != nil {
		return "error: " + r.err.Error()
	}
	return fmt.Sprintf("%s after %s, body: %s", r.status, plural(r.attempts, "attempt"), r.body)
}

// call sends one request through c and reads the whole answer.
func call(ctx context.Context, c *client.Client, method, url, body string) result {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body) // NewRequest sets GetBody: replayable
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return result{err: err}
	}
	resp, err := c.Do(req)
	if err != nil {
		return result{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return result{err: err}
	}
	return result{status: resp.Status, body: strings.TrimSpace(string(b)), header: resp.Header, attempts: transport.Attempts(resp)}
}

// flakyGET: the upstream answers 503 twice, then 200. A GET is idempotent,
// so the retry layer sends it again (full-jitter backoff, at most 200 ms
// then 400 ms) and the caller sees only the final answer.
func flakyGET(ctx context.Context, out io.Writer, l *lab) error {
	fmt.Fprintln(out, "== 1. A flaky GET: the upstream answers 503, 503, then 200")
	var mu sync.Mutex
	var statuses []string
	srv := l.upstream(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		failing := len(statuses) < 2
		status := http.StatusOK
		if failing {
			status = http.StatusServiceUnavailable
		}
		statuses = append(statuses, strconv.Itoa(status))
		mu.Unlock()
		if failing {
			http.Error(w, "warming up", status)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"report":"ready"}`)
	}))
	defer srv.Close()
	c, err := l.client(srv)
	if err != nil {
		return err
	}
	defer c.Close()

	res := call(ctx, c, http.MethodGet, srv.URL+"/v1/report", "")
	mu.Lock()
	defer mu.Unlock()
	fmt.Fprintf(out, "upstream answered: %s\n", strings.Join(statuses, ", "))
	fmt.Fprintf(out, "client got: %s\n\n", res)
	return nil
}

// payments is an upstream that executes payments and deduplicates by
// Idempotency-Key: a request with a key it has seen gets the stored answer
// and executes nothing. It can be told to lose its next answer: the
// payment is made, then the connection is dropped before the response.
type payments struct {
	mu       sync.Mutex
	requests int
	keys     []string          // the Idempotency-Key of each request
	executed int               // payments actually made
	answers  map[string]string // key -> stored answer
	loseNext bool
}

func (p *payments) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	amount, _ := io.ReadAll(r.Body)
	key := r.Header.Get("Idempotency-Key")
	p.mu.Lock()
	p.requests++
	p.keys = append(p.keys, key)
	if stored, ok := p.answers[key]; ok && key != "" {
		p.mu.Unlock()
		w.Header().Set("Idempotent-Replayed", "true")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, stored)
		return
	}
	p.executed++
	answer := fmt.Sprintf(`{"payment":%d,"amount":%s}`, p.executed, amount)
	if key != "" {
		p.answers[key] = answer
	}
	lose := p.loseNext
	p.loseNext = false
	p.mu.Unlock()
	if lose {
		// The money moved, but the answer never reaches the client: an
		// ambiguous failure (the request was written, no response came).
		panic(http.ErrAbortHandler)
	}
	w.WriteHeader(http.StatusCreated)
	io.WriteString(w, answer)
}

// snapshot returns the counters and whether every key since request
// number from is the same non-empty key.
func (p *payments) snapshot(from int) (requests, executed int, sameKey bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	keys := p.keys[from:]
	sameKey = len(keys) > 0 && keys[0] != ""
	for _, k := range keys {
		sameKey = sameKey && k == keys[0]
	}
	return p.requests, p.executed, sameKey
}

func (p *payments) arm() {
	p.mu.Lock()
	p.loseNext = true
	p.mu.Unlock()
}

// lostPOST: the same lost answer, for a POST without and then with an
// Idempotency-Key.
func lostPOST(ctx context.Context, out io.Writer, l *lab) error {
	fmt.Fprintln(out, "== 2. A POST whose answer is lost (the payment is made, then the connection drops)")
	pay := &payments{answers: map[string]string{}}
	srv := l.upstream(pay)
	// One connection per request, so net/http never resends a request on
	// a reused connection by itself: every resend here is the retry layer's.
	srv.Config.SetKeepAlivesEnabled(false)
	defer srv.Close()

	// Without a key a POST may have been executed: it is not sent again.
	plain, err := l.client(srv)
	if err != nil {
		return err
	}
	defer plain.Close()
	pay.arm()
	res := call(ctx, plain, http.MethodPost, srv.URL+"/v1/payments", `{"eur":10}`)
	var re *transport.RetryError
	if !errors.As(res.err, &re) {
		return fmt.Errorf("POST without a key: got %v, want a *transport.RetryError", res)
	}
	requests, executed, _ := pay.snapshot(0)
	fmt.Fprintf(out, "without Idempotency-Key: error after %s, not sent again (RetryError.Reason %s; last error: %v)\n",
		plural(re.Attempts, "attempt"), re.Reason, re.Last)
	fmt.Fprintf(out, "  upstream: %s, %s executed; only the API can tell the caller whether it went through\n",
		plural(requests, "request"), plural(executed, "payment"))

	// With keys, each call gets one key, identical on every attempt; the
	// server answers the resend from its store.
	keyed, err := l.client(srv, client.WithIdempotencyKeys())
	if err != nil {
		return err
	}
	defer keyed.Close()
	pay.arm()
	res = call(ctx, keyed, http.MethodPost, srv.URL+"/v1/payments", `{"eur":25}`)
	if res.err != nil {
		return fmt.Errorf("POST with a key: %w", res.err)
	}
	requests2, executed2, same := pay.snapshot(requests)
	fmt.Fprintf(out, "with client.WithIdempotencyKeys(): %s (Idempotent-Replayed: %s)\n", res, res.header.Get("Idempotent-Replayed"))
	fmt.Fprintf(out, "  upstream: %s, same Idempotency-Key on each: %t, %s executed\n\n",
		plural(requests2-requests, "request"), same, plural(executed2-executed, "payment"))
	return nil
}

// retryAfter: a server-requested wait honoured, and one that cannot fit.
func retryAfter(ctx context.Context, out io.Writer, l *lab) error {
	fmt.Fprintln(out, "== 3. Retry-After")

	// (a) 429 with Retry-After: 1, then 200. The server notes when each
	// attempt arrives.
	var mu sync.Mutex
	var arrivals []time.Time
	srv := l.upstream(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		arrivals = append(arrivals, time.Now())
		first := len(arrivals) == 1
		mu.Unlock()
		if first {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	c, err := l.client(srv)
	if err != nil {
		return err
	}
	defer c.Close()
	res := call(ctx, c, http.MethodGet, srv.URL+"/v1/quota", "")
	if res.err != nil {
		return fmt.Errorf("Retry-After: 1: %w", res.err)
	}
	mu.Lock()
	var gaps []string
	for i := 1; i < len(arrivals); i++ {
		gaps = append(gaps, arrivals[i].Sub(arrivals[i-1]).Round(10*time.Millisecond).String())
	}
	n := len(arrivals)
	mu.Unlock()
	fmt.Fprintf(out, "429 with Retry-After: 1, then 200: %s\n", res)
	fmt.Fprintf(out, "  upstream: %s; measured between them: %s (asked 1s, stretched by up to 20%% of jitter)\n",
		plural(n, "request"), strings.Join(gaps, ", "))

	// (b) Retry-After: 120, always.
	var hits counter
	slow := l.upstream(hits.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "120")
		http.Error(w, "quota exhausted, come back in 2 minutes", http.StatusTooManyRequests)
	})))
	defer slow.Close()

	// A background job's client honours server waits of up to 5 minutes,
	// but this call has 2 s left: the wait cannot fit, so the call fails
	// at once and says why.
	bg, err := l.client(slow, client.WithPreset(transport.PresetBackground))
	if err != nil {
		return err
	}
	defer bg.Close()
	callCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	start := time.Now()
	res = call(callCtx, bg, http.MethodGet, slow.URL+"/v1/quota", "")
	took := time.Since(start)
	var re *transport.RetryError
	var de *transport.DeadlineError
	if !errors.As(res.err, &re) || !errors.As(res.err, &de) {
		return fmt.Errorf("Retry-After: 120 with 2 s left: got %v, want a *transport.RetryError and a *transport.DeadlineError", res)
	}
	fmt.Fprintf(out, "429 with Retry-After: 120, 2s left (background preset): failed at once, %s after the call began\n",
		took.Round(time.Millisecond))
	fmt.Fprintf(out, "  %v\n", re)
	fmt.Fprintf(out, "  *transport.RetryError: %s, reason %s, last status %d\n", plural(re.Attempts, "attempt"), re.Reason, re.Status)
	fmt.Fprintf(out, "  *transport.DeadlineError: %s wait of %s asked, %s left\n",
		de.Reason, de.Wait.Round(time.Second), de.Remaining.Round(100*time.Millisecond))
	fmt.Fprintf(out, "  errors.Is ErrRateLimited: %t, context.DeadlineExceeded: %t\n",
		errors.Is(res.err, client.ErrRateLimited), errors.Is(res.err, context.DeadlineExceeded))

	// The default client caps server waits at 20 s: told to wait longer,
	// it stops and hands back the server's answer as it is.
	std, err := l.client(slow)
	if err != nil {
		return err
	}
	defer std.Close()
	res = call(ctx, std, http.MethodGet, slow.URL+"/v1/quota", "")
	if res.err != nil {
		return fmt.Errorf("Retry-After: 120, standard preset: %w", res.err)
	}
	fmt.Fprintf(out, "429 with Retry-After: 120 (standard preset, waits capped at 20s): %s\n", res)
	fmt.Fprintf(out, "  upstream: %s for these 2 calls\n\n", plural(hits.load(), "request"))
	return nil
}

// outage: every request gets 503 until the upstream recovers.
func outage(ctx context.Context, out io.Writer, l *lab) error {
	fmt.Fprintln(out, "== 4. An outage: the upstream answers 503 to everything")
	var hits counter
	var mu sync.Mutex
	down := true
	srv := l.upstream(hits.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		d := down
		mu.Unlock()
		if d {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok")
	})))
	defer srv.Close()

	var tmu sync.Mutex
	transitions := []string{transport.BreakerClosed.String()}
	cfg := transport.StandardPreset()
	cfg.Breaker.OpenTimeout = 300 * time.Millisecond
	cfg.Breaker.OnStateChange = func(_ string, _, to transport.BreakerState) {
		tmu.Lock()
		transitions = append(transitions, to.String())
		tmu.Unlock()
	}
	c, err := l.client(srv, client.WithResilience(cfg))
	if err != nil {
		return err
	}
	defer c.Close()
	url := srv.URL + "/v1/status"

	// Calls until the breaker opens, and three more: the first ones are
	// retried while the retry budget allows (3 retries per 10 s at this
	// low traffic); once the breaker is open, calls fail fast with
	// client.ErrCircuitOpen and send nothing.
	calls, after := 0, -1
	for calls < 10 && after < 3 {
		calls++
		before := hits.load()
		res := call(ctx, c, http.MethodGet, url, "")
		sent := hits.load() - before
		if after >= 0 || errors.Is(res.err, client.ErrCircuitOpen) {
			after++
		}
		var coe *transport.CircuitOpenError
		if errors.As(res.err, &coe) {
			fmt.Fprintf(out, "call %d: circuit open (client.ErrCircuitOpen, may close in %s), %s sent\n",
				calls, max(time.Until(coe.Until), 0).Round(100*time.Millisecond), plural(sent, "request"))
			continue
		}
		if res.err != nil {
			fmt.Fprintf(out, "call %d: %v, %s sent\n", calls, res.err, plural(sent, "request"))
			continue
		}
		fmt.Fprintf(out, "call %d: %s after %s, %s sent\n", calls, res.status, plural(res.attempts, "attempt"), plural(sent, "request"))
	}
	if after < 0 {
		return errors.New("outage: the breaker never opened")
	}
	fmt.Fprintf(out, "%s, %s upstream\n", plural(calls, "call"), plural(hits.load(), "request"))

	// The upstream recovers. Once the open period is over, the next call
	// is the breaker's one probe; its success closes the breaker.
	mu.Lock()
	down = false
	mu.Unlock()
	fmt.Fprintln(out, "upstream recovers")
	var probe result
	for range 20 {
		probe = call(ctx, c, http.MethodGet, url, "")
		var coe *transport.CircuitOpenError
		if !errors.As(probe.err, &coe) {
			break
		}
		if err := sleep(ctx, time.Until(coe.Until)+10*time.Millisecond); err != nil {
			return err
		}
	}
	if probe.err != nil {
		return fmt.Errorf("outage: probe: %w", probe.err)
	}
	fmt.Fprintf(out, "after the open period, the probe: %s\n", probe)
	ok := 0
	for range 3 {
		if res := call(ctx, c, http.MethodGet, url, ""); res.err == nil && strings.HasPrefix(res.status, "200") {
			ok++
		}
	}
	fmt.Fprintf(out, "3 more calls: %d succeeded\n", ok)
	tmu.Lock()
	fmt.Fprintf(out, "breaker states: %s\n", strings.Join(transitions, " -> "))
	tmu.Unlock()
	return nil
}

// counter counts the requests a handler receives.
type counter struct{ n atomic.Int64 }

func (c *counter) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.n.Add(1)
		h.ServeHTTP(w, r)
	})
}

func (c *counter) load() int { return int(c.n.Load()) }

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(max(d, 0))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// plural returns "1 attempt", "3 attempts".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
