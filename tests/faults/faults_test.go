package faults

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"

	"github.com/securecall/securecall/transport"
)

// faultConfig is the resilience configuration of the fault tests: short
// waits so a test takes seconds, an attempt timeout below the injected
// latency.
func faultConfig() transport.ResilienceConfig {
	return transport.ResilienceConfig{
		TotalTimeout:   10 * time.Second,
		AttemptTimeout: 400 * time.Millisecond,
		Retry: transport.RetryConfig{
			MaxAttempts: 3,
			BaseDelay:   20 * time.Millisecond,
			MaxDelay:    100 * time.Millisecond,
		},
		Breaker: transport.BreakerConfig{Window: 10 * time.Second},
	}
}

// fault is one kind of network fault Toxiproxy injects.
type fault struct {
	name  string
	apply func(*toxiclient.Proxy) error
	heal  func(*toxiclient.Proxy) error
	// neverSent: the failed attempt provably never left (a refused
	// connection), so even a POST without a key is retried.
	neverSent bool
	// benign: the fault slows the exchange but does not break it.
	benign bool
	// cause recognises the typed error a permanent fault ends in.
	cause func(error) bool
}

func toxic(name, typ, stream string, attrs toxiclient.Attributes) (func(*toxiclient.Proxy) error, func(*toxiclient.Proxy) error) {
	return func(p *toxiclient.Proxy) error {
			_, err := p.AddToxic(name, typ, stream, 1, attrs)
			return err
		}, func(p *toxiclient.Proxy) error {
			return p.RemoveToxic(name)
		}
}

func isAttemptTimeout(err error) bool {
	var ae *transport.AttemptTimeoutError
	return errors.As(err, &ae)
}

func isBrokenConnection(err error) bool {
	switch transport.ErrorType(err) {
	case transport.ErrorTypeConnectionReset, transport.ErrorTypeConnectionClosed:
		return true
	}
	return false
}

func faults() []fault {
	latApply, latHeal := toxic("latency", "latency", "downstream", toxiclient.Attributes{"latency": 1000, "jitter": 0})
	rstApply, rstHeal := toxic("reset", "reset_peer", "upstream", toxiclient.Attributes{"timeout": 0})
	toApply, toHeal := toxic("stall", "timeout", "upstream", toxiclient.Attributes{"timeout": 0})
	slApply, slHeal := toxic("slicer", "slicer", "downstream", toxiclient.Attributes{"average_size": 16, "size_variation": 8, "delay": 2000})
	ldApply, ldHeal := toxic("limit", "limit_data", "downstream", toxiclient.Attributes{"bytes": 17}) // cut after (GET) or inside (POST) the status line
	return []fault{
		{name: "latency", apply: latApply, heal: latHeal, cause: isAttemptTimeout},
		{name: "reset_peer", apply: rstApply, heal: rstHeal, cause: isBrokenConnection},
		{name: "timeout", apply: toApply, heal: toHeal, cause: isAttemptTimeout},
		{name: "slicer", apply: slApply, heal: slHeal, benign: true},
		{name: "limit_data", apply: ldApply, heal: ldHeal, cause: isBrokenConnection},
		{
			name:      "disabled",
			apply:     func(p *toxiclient.Proxy) error { return p.Disable() },
			heal:      func(p *toxiclient.Proxy) error { return p.Enable() },
			neverSent: true,
			cause:     func(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) },
		},
	}
}

// TestFaults runs every fault, transient (gone before the first resend) or
// permanent, against GET, POST, and POST with an Idempotency-Key, and
// checks the side effects the upstream counted.
func TestFaults(t *testing.T) {
	cl := startToxiproxy(t)
	for _, f := range faults() {
		for _, transient := range []bool{true, false} {
			for _, call := range []struct{ method, key string }{{"GET", ""}, {"POST", ""}, {"POST", "key"}} {
				kind := "permanent"
				if transient {
					kind = "transient"
				}
				label := call.method
				if call.key != "" {
					label += "+key"
				}
				name := f.name + "/" + kind + "/" + label
				t.Run(name, func(t *testing.T) {
					runFault(t, cl, f, transient, call.method, call.key, strings.ReplaceAll(name, "/", "-"))
				})
			}
		}
	}
}

func runFault(t *testing.T, cl *toxiclient.Client, f fault, transient bool, method, key, proxyName string) {
	up := newUpstream(t)
	p, err := cl.CreateProxy(proxyName, "127.0.0.1:0", up.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Delete()
	base := newCountingTransport(t)
	var heal func()
	if transient {
		heal = func() {
			if err := f.heal(p); err != nil {
				t.Errorf("healing %s: %v", f.name, err)
			}
		}
	}
	rt, err := transport.NewResilience(&healOnRetry{next: base, heal: heal}, faultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := f.apply(p); err != nil {
		t.Fatal(err)
	}
	if key != "" {
		key = "order-" + proxyName
	}

	res := do(context.Background(), rt, method, "http://"+p.Listen+"/orders", key)
	effects, hits, keys := up.counts()
	t.Logf("%s: %v; upstream hits %v, effects %d", proxyName, res, hits, effects)

	wantSuccess := f.benign || (transient && (method == http.MethodGet || key != "" || f.neverSent))
	if wantSuccess {
		if res.err != nil || res.status >= 300 {
			t.Fatalf("want a success, got %v", res)
		}
	} else {
		var re *transport.RetryError
		if !errors.As(res.err, &re) {
			t.Fatalf("want a *RetryError, got %v", res)
		}
		if f.cause != nil && !f.cause(res.err) {
			t.Errorf("error %v does not carry the fault's typed cause", res.err)
		}
		switch {
		case method == http.MethodGet || key != "" || f.neverSent:
			if re.Reason != transport.StopAttempts || re.Attempts != 3 {
				t.Errorf("replayable request: stopped after %d attempts (%s), want 3 (attempts)", re.Attempts, re.Reason)
			}
		default:
			if re.Reason != transport.StopNotReplayable || re.Attempts != 1 {
				t.Errorf("POST without a key: %d attempts (%s), want 1 (not_replayable)", re.Attempts, re.Reason)
			}
		}
	}
	if method != http.MethodPost {
		return
	}
	// Side effects: a POST without a key is executed at most once; with a
	// key, the caller gets exactly one effect on success and at most one
	// otherwise, whatever number of attempts reached the server.
	switch {
	case effects > 1:
		t.Errorf("%d side effects for one call", effects)
	case wantSuccess && effects != 1:
		t.Errorf("a successful call left %d side effects, want exactly 1", effects)
	}
	if key != "" && len(keys) > 1 {
		t.Errorf("the attempts carried %d different keys", len(keys))
	}
	if key == "" && !f.neverSent && hits[http.MethodPost] > 1 {
		t.Errorf("a POST without a key reached the server %d times", hits[http.MethodPost])
	}
}

// TestGeneratedIdempotencyKey: with RetryConfig.IdempotencyKeys, a POST
// the caller sent without a key gets one per call, identical on every
// attempt, so an ambiguous failure is retried and the server applies the
// effect exactly once.
func TestGeneratedIdempotencyKey(t *testing.T) {
	cl := startToxiproxy(t)
	up := newUpstream(t)
	p, err := cl.CreateProxy("genkey", "127.0.0.1:0", up.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Delete()
	apply, heal := toxic("latency", "latency", "downstream", toxiclient.Attributes{"latency": 1000})
	cfg := faultConfig()
	cfg.Retry.IdempotencyKeys = true
	rt, err := transport.NewResilience(&healOnRetry{next: newCountingTransport(t), heal: func() { heal(p) }}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := apply(p); err != nil {
		t.Fatal(err)
	}
	res := do(context.Background(), rt, http.MethodPost, "http://"+p.Listen+"/orders", "")
	effects, hits, keys := up.counts()
	if res.err != nil || res.status >= 300 {
		t.Fatalf("got %v", res)
	}
	if effects != 1 || hits[http.MethodPost] < 2 || len(keys) != 1 {
		t.Errorf("effects %d, POST hits %d, keys %v: want 1 effect from 2+ attempts with one key", effects, hits[http.MethodPost], keys)
	}
}

// TestConnectionReuse: the retry layer drains and closes what it discards,
// so retries after recoverable failures reuse pooled connections, and a
// broken connection costs exactly one new one.
func TestConnectionReuse(t *testing.T) {
	cl := startToxiproxy(t)
	up := newUpstream(t)
	p, err := cl.CreateProxy("reuse", "127.0.0.1:0", up.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Delete()
	url := "http://" + p.Listen + "/orders"
	base := newCountingTransport(t)
	cfg := faultConfig()
	cfg.Retry.Budget.Disabled = true
	rt, err := transport.NewResilience(base, cfg)
	if err != nil {
		t.Fatal(err)
	}

	// 503 with a body, twice, then 200: three attempts on one connection.
	n := 0
	up.setHandler(func(w http.ResponseWriter, r *http.Request) {
		n++
		if n <= 2 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, strings.Repeat("busy ", 200))
			return
		}
		fmt.Fprint(w, "ok")
	})
	if res := do(context.Background(), rt, http.MethodGet, url, ""); res.err != nil || res.status != 200 {
		t.Fatalf("got %v", res)
	}
	if d := base.dials.Load(); d != 1 {
		t.Errorf("%d connections for 3 attempts after 503s, want 1", d)
	}
	up.setHandler(nil)

	// A reset breaks the connection; once healed, every later call shares
	// one new connection.
	apply, heal := toxic("reset", "reset_peer", "upstream", toxiclient.Attributes{"timeout": 0})
	if err := apply(p); err != nil {
		t.Fatal(err)
	}
	rt2, err := transport.NewResilience(&healOnRetry{next: base, heal: func() { heal(p) }}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res := do(context.Background(), rt2, http.MethodGet, url, ""); res.err != nil {
		t.Fatalf("got %v", res)
	}
	before := base.dials.Load()
	for range 20 {
		if res := do(context.Background(), rt2, http.MethodGet, url, ""); res.err != nil {
			t.Fatal(res)
		}
	}
	if d := base.dials.Load() - before; d != 0 {
		t.Errorf("%d new connections for 20 sequential calls after recovery, want 0", d)
	}
	t.Logf("connections: %d dialled, %d accepted upstream", base.dials.Load(), up.conns.Load())
}
