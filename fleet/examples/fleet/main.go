// Command fleet shows fleet mode: three replicas of a service share what
// they know about an API through one Redis (the fleet module,
// github.com/securecall/securecall/fleet), offline, against HTTPS APIs it
// embeds on loopback:
//
//  1. a shared quota: the three replicas hammer one API for 2 s under a
//     fleet-wide limit of 50 requests/s; the API gets no more than the
//     quota allows, and the replicas ask Redis once per leased batch of
//     tokens, not once per request;
//  2. a shared cooldown: the API answers replica a "429, Retry-After: 1";
//     replica b, with too little time left to wait, is refused before it
//     sends, and replica c waits the cooldown out before sending;
//  3. a shared breaker: the API is down, replica a's breaker opens, and
//     replicas b and c fail fast (a *transport.CircuitOpenError with
//     Shared set) without the API seeing a request from them;
//  4. shared replay protection: two verifier replicas behind a load
//     balancer, each with its own fleet.NonceStore; a signed request
//     accepted by replica A is refused as a replay by replica B (and, for
//     comparison, accepted by B when each replica has only its own
//     in-memory nonce store).
//
// Each replica has its own go-redis client and its own fleet.Fleet, as
// separate processes would. The program needs a Redis:
//
//   - with REDIS_URL set (redis://[user:password@]host:port/db) it uses
//     that one; every key it writes is under a fresh prefix and has a TTL;
//   - otherwise it starts a throwaway redis-server from PATH on a free
//     loopback port, with persistence off, and kills it on exit;
//   - with neither, it says how to get one and exits 0.
//
// It checks the outcomes that do not depend on timing itself and exits 1
// when one is not the expected one.
//
//	cd fleet && go run ./examples/fleet
package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/fleet"
	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/transport"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	err := run(ctx, os.Stdout)
	cancel()
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "fleet:", err)
		os.Exit(1)
	}
}

// The demo's settings.
const (
	// quotaRate is the fleet-wide limit in requests per second (the
	// burst is the same).
	quotaRate = 50
	// quotaWindow is how long the replicas hammer the API.
	quotaWindow = 2 * time.Second
	// quotaGrace lets calls already waiting for a token at the end of the
	// window finish; what arrives then is reported apart.
	quotaGrace = 500 * time.Millisecond
	// workers is the number of goroutines calling per replica.
	workers = 4
	// roomyRate is the fleet-wide limit of the second API, far above what
	// the replicas send to it in roomyWindow.
	roomyRate   = 100_000
	roomyWindow = time.Second
	// breakerFailures opens a replica's breaker after this many
	// consecutive failures.
	breakerFailures = 3
	// breakerOpen is how long an opened breaker stays open.
	breakerOpen = 2 * time.Second
	// replicaHeader names the client replica on each request, so the
	// embedded APIs can tell who sent what.
	replicaHeader = "X-Replica"
)

// errNoRedis: REDIS_URL is not set and there is no redis-server on PATH.
var errNoRedis = errors.New("fleet example: no Redis")

// howToGetRedis is what the program prints, and exits 0 with, when it
// finds no Redis.
const howToGetRedis = `This example needs a Redis server, and found none:
  - REDIS_URL is not set, and
  - there is no redis-server on PATH to start a throwaway one.

Either install Redis and run again (the example starts and stops its own
server on a free loopback port, with persistence off):
  Debian/Ubuntu:  sudo apt-get install redis-server
  macOS:          brew install redis

or point it at a Redis you have (keys go under a fresh prefix, all with TTLs):
  REDIS_URL=redis://host:6379/0 go run ./examples/fleet
`

// run plays the four scenarios and writes what happens to out. Without a
// Redis it writes howToGetRedis and returns nil.
func run(ctx context.Context, out io.Writer) error {
	rs, err := openRedis(ctx)
	if errors.Is(err, errNoRedis) {
		fmt.Fprint(out, howToGetRedis)
		return nil
	}
	if err != nil {
		return err
	}
	defer rs.close()
	fmt.Fprintf(out, "Redis: %s\n", rs.desc)

	// A fresh prefix: keys of an earlier run on the same Redis (a quota's
	// GCRA state, an open breaker) play no part in this one.
	var p [4]byte
	if _, err := rand.Read(p[:]); err != nil {
		return err
	}
	prefix := "securecall-example-" + hex.EncodeToString(p[:]) + ":"

	// The APIs of scenario 1 are started first: the fleets' quotas name
	// their hosts.
	noContent := func(http.Header, int, string) int { return http.StatusNoContent }
	quotaAPI, roomyAPI := newUpstream(noContent), newUpstream(noContent)
	defer quotaAPI.Close()
	defer roomyAPI.Close()

	// Three replicas, each its own Redis client and its own Fleet, as
	// three processes would have. The caller owns both; Close on a
	// securecall client closes neither.
	var reps []*replica
	defer func() {
		for _, r := range reps {
			r.rdb.Close()
		}
	}()
	for _, name := range []string{"a", "b", "c"} {
		rdb := rs.client()
		f, err := fleet.New(rdb, fleet.Options{
			Prefix: prefix,
			// Generous for a demo sharing its machine with its Redis
			// (and maybe with a -race build). In production keep it well
			// below your request deadline; the default is 100 ms.
			Timeout: 500 * time.Millisecond,
			Quota: &fleet.QuotaOptions{
				// Fleet-wide limits of two hosts; others have none.
				Hosts: []fleet.QuotaLimit{
					{Pattern: quotaAPI.host, Rate: quotaRate},
					{Pattern: roomyAPI.host, Rate: roomyRate},
				},
				// While Redis is down each replica may send 1/3 of it.
				ExpectedReplicas: 3,
			},
		})
		if err != nil {
			rdb.Close()
			return err
		}
		reps = append(reps, &replica{name: name, rdb: rdb, fleet: f})
	}

	if err := sharedQuota(ctx, out, reps, quotaAPI); err != nil {
		return fmt.Errorf("shared quota: %w", err)
	}
	if err := quotaHeadroom(ctx, out, reps, roomyAPI); err != nil {
		return fmt.Errorf("quota headroom: %w", err)
	}
	if err := sharedCooldown(ctx, out, reps, prefix); err != nil {
		return fmt.Errorf("shared cooldown: %w", err)
	}
	if err := sharedBreaker(ctx, out, reps, prefix); err != nil {
		return fmt.Errorf("shared breaker: %w", err)
	}
	if err := sharedNonces(ctx, out, rs, prefix); err != nil {
		return fmt.Errorf("shared nonces: %w", err)
	}
	return nil
}

// replica is one replica of the calling service: its Redis client and
// its Fleet.
type replica struct {
	name  string
	rdb   *redis.Client
	fleet *fleet.Fleet
}

// client returns a securecall client of replica r for api, in fleet mode:
// it trusts api's certificate and may dial loopback (the SSRF-safe dialer
// refuses it otherwise).
func (r *replica) client(api *upstream, opts ...client.Option) (*client.Client, error) {
	return client.New(append([]client.Option{
		client.WithOrigins(api.URL),
		client.WithTLSConfig(&tls.Config{RootCAs: api.roots}),
		client.WithAllowedNetworks(netip.MustParsePrefix("127.0.0.0/8")),
		client.WithFleet(r.fleet),
	}, opts...)...)
}

// result is what a call returned: a response (drained and closed) or an
// error.
type result struct {
	status   string
	attempts int
	err      error
}

func (res result) String() string {
	if res.err != nil {
		return "error: " + res.err.Error()
	}
	return fmt.Sprintf("%s after %s", res.status, plural(res.attempts, "attempt"))
}

// get sends GET url through c as replica r.
func (r *replica) get(ctx context.Context, c *client.Client, url string) result {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return result{err: err}
	}
	req.Header.Set(replicaHeader, r.name)
	resp, err := c.Do(req)
	if err != nil {
		return result{err: err}
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)); err != nil {
		return result{err: err}
	}
	return result{status: resp.Status, attempts: transport.Attempts(resp)}
}

// upstream is an embedded HTTPS API on loopback that logs every request:
// which replica sent it, when, and the status it got.
type upstream struct {
	*httptest.Server
	host  string // transport.HostKey: the key of the per-host state
	roots *x509.CertPool

	mu     sync.Mutex
	answer func(h http.Header, n int, replica string) int // n: requests before this one
	hits   []hit
}

type hit struct {
	replica string
	at      time.Time
	status  int
}

// newUpstream starts an API answering with answer's status (after answer
// has set its headers).
func newUpstream(answer func(h http.Header, n int, replica string) int) *upstream {
	u := &upstream{answer: answer}
	u.Server = startTLS(u)
	u.host, u.roots = hostKey(u.Server), roots(u.Server)
	return u
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	replica := r.Header.Get(replicaHeader)
	u.mu.Lock()
	status := u.answer(w.Header(), len(u.hits), replica)
	u.hits = append(u.hits, hit{replica: replica, at: time.Now(), status: status})
	u.mu.Unlock()
	w.WriteHeader(status)
}

// count returns the requests replica sent ("" for all) that arrived
// before end (zero: whenever).
func (u *upstream) count(replica string, end time.Time) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	n := 0
	for _, h := range u.hits {
		if (replica == "" || h.replica == replica) && (end.IsZero() || h.at.Before(end)) {
			n++
		}
	}
	return n
}

// timeline describes the requests the API got, in order, with their
// times relative to the first.
func (u *upstream) timeline() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	var parts []string
	for _, h := range u.hits {
		parts = append(parts, fmt.Sprintf("%s %d at +%s", h.replica, h.status, h.at.Sub(u.hits[0].at).Round(10*time.Millisecond)))
	}
	return strings.Join(parts, ", ")
}

// sharedQuota: the replicas hammer one API whose fleet-wide quota is
// quotaRate per second.
func sharedQuota(ctx context.Context, out io.Writer, reps []*replica, api *upstream) error {
	fmt.Fprintf(out, "\n== 1. Shared quota: %d replicas, one fleet-wide limit of %d requests/s (burst %d) for %s\n",
		len(reps), quotaRate, quotaRate, api.host)
	fmt.Fprintf(out, "each replica: %d goroutines calling as fast as the quota lets them, for %s\n", workers, quotaWindow)
	clients := make([]*client.Client, len(reps))
	for i, r := range reps {
		c, err := r.client(api)
		if err != nil {
			return err
		}
		defer c.Close()
		clients[i] = c
	}

	refused := make([]atomic.Int64, len(reps))
	var (
		once    sync.Once
		failure error
		wg      sync.WaitGroup
	)
	end := time.Now().Add(quotaWindow)
	for i, r := range reps {
		for range workers {
			wg.Go(func() {
				for time.Now().Before(end) {
					// A call may wait for its token past the end of the
					// window (what arrives then is counted apart), so
					// the last of the window's quota is not refused.
					cctx, cancel := context.WithDeadline(ctx, end.Add(quotaGrace))
					res := r.get(cctx, clients[i], api.URL+"/v1/items")
					cancel()
					switch {
					case res.err == nil:
					case ctx.Err() == nil && (errors.Is(res.err, client.ErrRateLimited) || errors.Is(res.err, context.DeadlineExceeded)):
						// The token would come too late for the call's
						// deadline: refused before sending.
						refused[i].Add(1)
						time.Sleep(5 * time.Millisecond)
					default:
						once.Do(func() { failure = fmt.Errorf("replica %s: %w", r.name, res.err) })
						return
					}
				}
			})
		}
	}
	wg.Wait()
	if failure != nil {
		return failure
	}

	var calls, errs int64
	for i, r := range reps {
		fmt.Fprintf(out, "replica %s: %s reached the API in the window, %s refused before sending\n",
			r.name, plural(api.count(r.name, end), "request"), plural(int(refused[i].Load()), "call"))
		st := r.fleet.Quota().Stats()
		calls, errs = calls+st.RedisCalls, errs+st.RedisErrors
	}
	total, all := api.count("", end), api.count("", time.Time{})
	bound := quotaRate + quotaRate*int(quotaWindow/time.Second)
	fmt.Fprintf(out, "fleet: %d requests reached the API in %s; the quota allows at most %d (burst) + %d/s × %s = %d\n",
		total, quotaWindow, quotaRate, quotaRate, quotaWindow, bound)
	fmt.Fprintf(out, "  (%d more arrived in the %s after the window: calls that were waiting for their token)\n", all-total, quotaGrace)
	fmt.Fprintf(out, "  three replicas each limited to %d/s on their own could have sent %d\n", quotaRate, len(reps)*bound)
	fmt.Fprintf(out, "Redis: %d lease calls for %d requests = %.0f per 1,000 requests (the quota is saturated: leases come back short, and replicas space them out)\n",
		calls, all, float64(calls)*1000/float64(max(all, 1)))
	if errs > 0 {
		fmt.Fprintf(out, "  %d Redis calls failed or timed out (a busy machine?); meanwhile each replica used its local share\n", errs)
	}
	return nil
}

// quotaHeadroom: the replicas call an API whose fleet-wide quota they do
// not reach; their leases grow with their demand, so Redis sees few calls.
func quotaHeadroom(ctx context.Context, out io.Writer, reps []*replica, api *upstream) error {
	fmt.Fprintf(out, "\nBelow the quota: one goroutine per replica calls %s (fleet-wide limit %d/s) for %s\n", api.host, roomyRate, roomyWindow)
	before := make([]int64, len(reps))
	clients := make([]*client.Client, len(reps))
	for i, r := range reps {
		c, err := r.client(api)
		if err != nil {
			return err
		}
		defer c.Close()
		clients[i] = c
		before[i] = r.fleet.Quota().Stats().RedisCalls
	}
	errs := make([]error, len(reps))
	var wg sync.WaitGroup
	end := time.Now().Add(roomyWindow)
	for i, r := range reps {
		wg.Go(func() {
			for time.Now().Before(end) {
				if res := r.get(ctx, clients[i], api.URL+"/v1/items"); res.err != nil {
					errs[i] = fmt.Errorf("replica %s: %w", r.name, res.err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	var calls int64
	for i, r := range reps {
		calls += r.fleet.Quota().Stats().RedisCalls - before[i]
	}
	n := api.count("", time.Time{})
	fmt.Fprintf(out, "fleet: %d requests; Redis: %d lease calls = %.0f per 1,000 requests (each lease covers about %s of a replica's demand)\n",
		n, calls, float64(calls)*1000/float64(max(n, 1)), fleet.DefaultLeaseTTL/2)
	return nil
}

// sharedCooldown: a 429 with Retry-After seen by replica a holds b and c
// off.
func sharedCooldown(ctx context.Context, out io.Writer, reps []*replica, prefix string) error {
	fmt.Fprintln(out, "\n== 2. Shared cooldown: the API answers replica a \"429 Too Many Requests, Retry-After: 1\"")
	api := newUpstream(func(h http.Header, n int, _ string) int {
		if n == 0 {
			h.Set("Retry-After", "1")
			return http.StatusTooManyRequests
		}
		return http.StatusOK
	})
	defer api.Close()
	cs := make([]*client.Client, len(reps))
	for i, r := range reps {
		c, err := r.client(api) // the standard preset: retries on
		if err != nil {
			return err
		}
		defer c.Close()
		cs[i] = c
	}
	a, b, c := reps[0], reps[1], reps[2]
	url := api.URL + "/v1/report"

	aDone := make(chan result, 1)
	go func() { aDone <- a.get(ctx, cs[0], url) }()
	key := prefix + "cooldown:" + api.host
	pttl, err := waitForKey(ctx, a.rdb, key)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "a got the 429: its cooldown store wrote %s to Redis (expires in %s)\n", key, pttl.Round(10*time.Millisecond))

	// b has a call with 300 ms left: the cooldown's wait does not fit.
	bctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	res := b.get(bctx, cs[1], url)
	cancel()
	var de *transport.DeadlineError
	if !errors.Is(res.err, client.ErrRateLimited) || !errors.As(res.err, &de) || de.Reason != transport.SourceCooldown {
		return fmt.Errorf("b during a's cooldown: %v, want client.ErrRateLimited with a cooldown *transport.DeadlineError", res)
	}
	fmt.Fprintf(out, "b, a call with 300ms left: refused before sending (client.ErrRateLimited: a %s wait of %s, %s left); the API saw %s from b\n",
		de.Reason, de.Wait.Round(10*time.Millisecond), de.Remaining.Round(10*time.Millisecond), plural(api.count(b.name, time.Time{}), "request"))
	if n := api.count(b.name, time.Time{}); n != 0 {
		return fmt.Errorf("the API saw %d requests from b during a's cooldown", n)
	}

	// c has time to spare: it waits the cooldown out, then sends.
	start := time.Now()
	res = c.get(ctx, cs[2], url)
	if res.err != nil {
		return fmt.Errorf("c: %w", res.err)
	}
	fmt.Fprintf(out, "c, a call with time to spare: %s, %s after the call began (the cooldown's rest, plus up to 20%% jitter)\n",
		res, time.Since(start).Round(10*time.Millisecond))
	res = <-aDone
	if res.err != nil {
		return fmt.Errorf("a: %w", res.err)
	}
	fmt.Fprintf(out, "a: its retry layer waited too, then sent again: %s\n", res)
	fmt.Fprintf(out, "the API saw: %s\n", api.timeline())
	return nil
}

// sharedBreaker: the API is down; replica a's breaker opens, and b and c
// fail fast on the shared state.
func sharedBreaker(ctx context.Context, out io.Writer, reps []*replica, prefix string) error {
	fmt.Fprintln(out, "\n== 3. Shared breaker: the API is down (503 to everything); replica a finds out first")
	api := newUpstream(func(http.Header, int, string) int { return http.StatusServiceUnavailable })
	defer api.Close()
	rc := transport.StandardPreset()
	rc.Breaker.ConsecutiveFailures = breakerFailures
	rc.Breaker.OpenTimeout = breakerOpen
	cs := make([]*client.Client, len(reps))
	for i, r := range reps {
		// One attempt per call, so each failure the breaker counts is
		// one request the API saw.
		c, err := r.client(api, client.WithResilience(rc), client.WithMaxAttempts(1))
		if err != nil {
			return err
		}
		defer c.Close()
		cs[i] = c
	}
	a := reps[0]
	url := api.URL + "/v1/status"

	for call := 1; ; call++ {
		if call > 2*breakerFailures {
			return errors.New("a's breaker did not open")
		}
		before := api.count("", time.Time{})
		res := a.get(ctx, cs[0], url)
		var coe *transport.CircuitOpenError
		if errors.As(res.err, &coe) {
			fmt.Fprintf(out, "a, call %d: refused by a's own breaker (shared: %t), %s sent\n",
				call, coe.Shared, plural(api.count("", time.Time{})-before, "request"))
			break
		}
		if res.err != nil {
			return fmt.Errorf("a, call %d: %w", call, res.err)
		}
		fmt.Fprintf(out, "a, call %d: %s\n", call, res)
	}
	fmt.Fprintf(out, "a's breaker opened after %d consecutive failures, for %s, and published its end\n", breakerFailures, breakerOpen)

	key := prefix + "breaker:" + api.host
	pttl, err := waitForKey(ctx, a.rdb, key)
	if err != nil {
		return err
	}
	// The other replicas' stores read the key in the background (at most
	// every RefreshInterval, 100 ms by default); a request never waits
	// for Redis.
	for _, r := range reps[1:] {
		if err := waitFor(ctx, func() bool { return r.fleet.Breakers().OpenUntil(api.host).After(time.Now()) }); err != nil {
			return fmt.Errorf("replica %s never saw a's opening: %w", r.name, err)
		}
	}
	fmt.Fprintf(out, "%s is in Redis (expires in %s); b's and c's stores have read it\n", key, pttl.Round(10*time.Millisecond))
	for i, r := range reps[1:] {
		res := r.get(ctx, cs[i+1], url)
		var coe *transport.CircuitOpenError
		if !errors.As(res.err, &coe) || !coe.Shared {
			return fmt.Errorf("%s after a's breaker opened: %v, want a *transport.CircuitOpenError with Shared", r.name, res)
		}
		n := api.count(r.name, time.Time{})
		fmt.Fprintf(out, "%s: failed fast: circuit open (shared: %t), may send again in %s; the API saw %s from %s\n",
			r.name, coe.Shared, max(time.Until(coe.Until), 0).Round(100*time.Millisecond), plural(n, "request"), r.name)
		if n != 0 {
			return fmt.Errorf("the API saw %d requests from %s while a's breaker was open", n, r.name)
		}
	}
	fmt.Fprintf(out, "the API saw %s in all, from a only\n", plural(api.count("", time.Time{}), "request"))
	return nil
}

// sharedNonces: two verifier replicas behind a load balancer, with a
// fleet.NonceStore each, then with a signer.MemoryNonceStore each.
func sharedNonces(ctx context.Context, out io.Writer, rs *redisSource, prefix string) error {
	fmt.Fprintln(out, "\n== 4. Shared replay protection: two verifier replicas, A and B, behind a load balancer")
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return err
	}
	key, err := signer.NewHMACKey("client-1", secret)
	if err != nil {
		return err
	}
	lb := &balancer{}
	lb.Server = startTLS(lb)
	defer lb.Close()

	// Each server replica has its own Redis client and nonce store.
	var shared [2]signer.NonceStore
	for i := range shared {
		rdb := rs.client()
		defer rdb.Close()
		st, err := fleet.NewNonceStore(rdb, fleet.NonceOptions{Prefix: prefix})
		if err != nil {
			return err
		}
		shared[i] = st
	}
	if err := lb.use(key, shared); err != nil {
		return err
	}

	c, err := client.New(
		client.WithOrigins(lb.URL),
		client.WithTLSConfig(&tls.Config{RootCAs: roots(lb.Server)}),
		client.WithAllowedNetworks(netip.MustParsePrefix("127.0.0.0/8")),
		client.WithHMACSigning(signer.StaticKey(key)),
	)
	if err != nil {
		return err
	}
	defer c.Close()
	// The attacker's client: plain net/http, replaying captured bytes.
	attacker := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots(lb.Server)}}}
	defer attacker.CloseIdleConnections()

	sent, replayed, err := signAndReplay(ctx, c, attacker, lb)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "with a fleet.NonceStore on Redis each:\n")
	fmt.Fprintf(out, "  signed GET /v1/orders/7 (keyid %q) -> load balancer -> replica %s: %s\n", key.ID(), sent.replica, sent)
	fmt.Fprintf(out, "  the same request captured and sent again -> load balancer -> replica %s: %s\n", replayed.replica, replayed)
	if sent.status != http.StatusOK || replayed.status != http.StatusUnauthorized || !errors.Is(replayed.err, signer.ErrReplay) {
		return fmt.Errorf("shared store: sent %v, replayed %v; want 200 and a 401 for signer.ErrReplay", sent, replayed)
	}

	// For comparison: each replica with only its own memory.
	local := [2]signer.NonceStore{signer.NewMemoryNonceStore(signer.DefaultNonceCapacity), signer.NewMemoryNonceStore(signer.DefaultNonceCapacity)}
	if err := lb.use(key, local); err != nil {
		return err
	}
	sent, replayed, err = signAndReplay(ctx, c, attacker, lb)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "for comparison, with a signer.MemoryNonceStore each (what a replica has without fleet mode):\n")
	fmt.Fprintf(out, "  signed GET -> replica %s: %s; the replay -> replica %s: %s (B had never seen that nonce)\n",
		sent.replica, sent, replayed.replica, replayed)
	if sent.status != http.StatusOK || replayed.status != http.StatusOK {
		return fmt.Errorf("memory stores: sent %v, replayed %v; want 200 and 200", sent, replayed)
	}
	return nil
}

// balancer is a load balancer in front of two verifier replicas, A and
// B: requests alternate between them, starting with A. It keeps the last
// request's headers, as an eavesdropper on the path could.
type balancer struct {
	*httptest.Server

	mu       sync.Mutex
	replicas [2]http.Handler
	next     int
	captured http.Header
	verdict  verdict
}

// verdict is a server replica's answer to one request.
type verdict struct {
	replica string
	status  int
	err     error // why the verifier refused, nil when it accepted
}

func (v verdict) String() string {
	s := strconv.Itoa(v.status) + " " + http.StatusText(v.status)
	switch {
	case errors.Is(v.err, signer.ErrReplay):
		return s + ", refused as a replay (signer.ErrReplay): " + v.err.Error()
	case v.err != nil:
		return s + ": " + v.err.Error()
	}
	return s
}

// use puts a verifier on each replica, with nonces[i] as its replay store
// (fleet.ErrorHandler, like signer.DefaultErrorHandler, answers 503 when
// Redis is unavailable),
// and starts the rotation at A again.
func (lb *balancer) use(key *signer.Key, nonces [2]signer.NonceStore) error {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	for i, name := range []string{"A", "B"} {
		v, err := signer.NewVerifier(signer.VerifierOptions{
			Keys:   signer.StaticKey(key),
			Nonces: nonces[i],
			ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				lb.mu.Lock()
				lb.verdict.err = err
				lb.mu.Unlock()
				fleet.ErrorHandler(w, r, err)
			},
		})
		if err != nil {
			return err
		}
		ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
		lb.replicas[i] = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			lb.mu.Lock()
			lb.verdict = verdict{replica: name}
			lb.mu.Unlock()
			v.Middleware(ok).ServeHTTP(w, r)
		})
	}
	lb.next = 0
	return nil
}

func (lb *balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	lb.mu.Lock()
	h := lb.replicas[lb.next%2]
	lb.next++
	lb.captured = r.Header.Clone()
	lb.mu.Unlock()
	rec := &statusRecorder{ResponseWriter: w}
	h.ServeHTTP(rec, r)
	lb.mu.Lock()
	lb.verdict.status = rec.status
	lb.mu.Unlock()
}

// last returns the last request's headers and the verdict on it.
func (lb *balancer) last() (http.Header, verdict) {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	return lb.captured, lb.verdict
}

// statusRecorder notes the status a handler writes.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// signAndReplay sends a signed GET through c, then the same request
// (method, URL and every captured header, signature included) through the
// attacker's plain client, and returns the verdicts on both.
func signAndReplay(ctx context.Context, c *client.Client, attacker *http.Client, lb *balancer) (sent, replayed verdict, err error) {
	u := lb.URL + "/v1/orders/7"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return sent, replayed, err
	}
	if err := do(c.Do, req); err != nil {
		return sent, replayed, err
	}
	header, sent := lb.last()
	replay, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return sent, replayed, err
	}
	replay.Header = header
	if err := do(attacker.Do, replay); err != nil {
		return sent, replayed, err
	}
	_, replayed = lb.last()
	return sent, replayed, nil
}

// do sends req and discards the answer.
func do(send func(*http.Request) (*http.Response, error), req *http.Request) error {
	resp, err := send(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return err
}

// startTLS serves h over HTTPS on 127.0.0.1, with httptest's certificate.
func startTLS(h http.Handler) *httptest.Server {
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	return srv
}

// roots is a pool with srv's certificate: what a client of srv trusts.
func roots(srv *httptest.Server) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(srv.Certificate())
	return p
}

// hostKey is the key the per-host state of srv's host is kept under
// (127.0.0.1:port).
func hostKey(srv *httptest.Server) string {
	u, err := url.Parse(srv.URL)
	if err != nil {
		panic(err) // httptest's own URL
	}
	return transport.HostKey(u)
}

// waitForKey waits until key exists in Redis and returns its time to
// live.
func waitForKey(ctx context.Context, rdb *redis.Client, key string) (time.Duration, error) {
	var ttl time.Duration
	err := waitFor(ctx, func() bool {
		d, err := rdb.PTTL(ctx, key).Result()
		ttl = d
		return err == nil && d > 0
	})
	if err != nil {
		return 0, fmt.Errorf("key %s never appeared in Redis: %w", key, err)
	}
	return ttl, nil
}

// waitFor polls cond every 5 ms, for at most 5 s.
func waitFor(ctx context.Context, cond func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

// plural returns "1 request", "3 requests".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// redisSource is the Redis the example uses: REDIS_URL's, or a
// redis-server it started.
type redisSource struct {
	desc    string                // for the report: no password
	options func() *redis.Options // a fresh copy for each client
	stop    func()                // kills the started server; nil for REDIS_URL
}

// client returns a new go-redis client. ContextTimeoutEnabled is required
// by the fleet stores: it lets their Timeout cut a call to a hung Redis.
// So is a PoolTimeout below their Timeout (500 ms for the Fleet here, the
// default 100 ms for the nonce stores; REDIS_URL's pool_timeout, when
// set, is kept): a burst that finds every pooled connection busy then
// fails with fleet.ErrPoolExhausted instead of counting as a Redis outage.
func (rs *redisSource) client() *redis.Client {
	o := rs.options()
	o.ContextTimeoutEnabled = true
	if o.PoolTimeout == 0 {
		o.PoolTimeout = 50 * time.Millisecond
	}
	return redis.NewClient(o)
}

func (rs *redisSource) close() {
	if rs.stop != nil {
		rs.stop()
	}
}

// openRedis finds the Redis to use: REDIS_URL if set, else a redis-server
// from PATH started on a free loopback port. Neither: errNoRedis.
func openRedis(ctx context.Context) (*redisSource, error) {
	if raw := os.Getenv("REDIS_URL"); raw != "" {
		if _, err := redis.ParseURL(raw); err != nil {
			// A *url.Error quotes the URL, password and all, and its
			// cause may quote a piece of it: a password holding an
			// unescaped '/', '?' or '#' ends the authority there, its
			// first part read as a port ("invalid port \":pa\" after
			// host") and the rest, by go-redis, as the path ("invalid
			// URL path", "invalid database number"). Name the problem
			// only; go-redis's other errors (the scheme, an option of
			// the query) quote no part of the userinfo.
			msg := err.Error()
			if _, ok := errors.AsType[*url.Error](err); ok ||
				strings.HasPrefix(msg, "redis: invalid URL path") || strings.HasPrefix(msg, "redis: invalid database number") {
				return nil, errors.New("REDIS_URL is not a redis://[user:password@]host:port/db URL (percent-encode any '/', '?', '#' or '@' in the password)")
			}
			return nil, fmt.Errorf("REDIS_URL is not a redis://[user:password@]host:port/db URL: %w", err)
		}
		rs := &redisSource{options: func() *redis.Options {
			o, _ := redis.ParseURL(raw) // parsed above
			return o
		}}
		o := rs.options()
		rs.desc = fmt.Sprintf("REDIS_URL (%s, db %d)", o.Addr, o.DB)
		if err := ping(ctx, rs); err != nil {
			return nil, fmt.Errorf("REDIS_URL: %s: %w", o.Addr, err)
		}
		return rs, nil
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, errNoRedis
	}
	addr, stop, err := startRedis(ctx, bin)
	if err != nil {
		return nil, err
	}
	return &redisSource{
		desc:    fmt.Sprintf("a throwaway %s on %s (persistence off; killed on exit)", bin, addr),
		options: func() *redis.Options { return &redis.Options{Addr: addr} },
		stop:    stop,
	}, nil
}

// ping checks that rs answers, within 2 s.
func ping(ctx context.Context, rs *redisSource) error {
	c := rs.client()
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return c.Ping(ctx).Err()
}

// startRedis runs bin on a free loopback port, with persistence off and
// no config file, and waits until it answers PING. stop kills it and
// removes its directory.
func startRedis(ctx context.Context, bin string) (addr string, stop func(), err error) {
	dir, err := os.MkdirTemp("", "securecall-fleet-example-")
	if err != nil {
		return "", nil, err
	}
	// A free port may be taken by someone else before redis-server binds
	// it: try another.
	for range 3 {
		var l net.Listener
		if l, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			break
		}
		addr = l.Addr().String()
		l.Close()
		var kill func()
		if kill, err = startRedisOn(ctx, bin, dir, addr); err == nil {
			return addr, func() { kill(); os.RemoveAll(dir) }, nil
		}
		if ctx.Err() != nil {
			break
		}
	}
	os.RemoveAll(dir)
	return "", nil, err
}

func startRedisOn(ctx context.Context, bin, dir, addr string) (kill func(), err error) {
	host, port, _ := net.SplitHostPort(addr)
	logPath := filepath.Join(dir, "redis.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin,
		"--bind", host, "--port", port,
		"--save", "", "--appendonly", "no",
		"--dir", dir, "--daemonize", "no",
		"--protected-mode", "yes", "--loglevel", "warning")
	cmd.Stdout, cmd.Stderr = logf, logf
	err = cmd.Start()
	logf.Close() // the child has its own descriptor
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	kill = func() {
		_ = cmd.Process.Kill()
		<-done
	}

	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond, ContextTimeoutEnabled: true})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		pctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		err := c.Ping(pctx).Err()
		cancel()
		if err == nil {
			return kill, nil
		}
		select {
		case <-done:
			b, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("%s exited at start (port %s taken?): %s", bin, port, tail(b))
		case <-ctx.Done():
			kill()
			return nil, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			kill()
			return nil, fmt.Errorf("%s on %s did not answer PING: %w", bin, addr, err)
		}
	}
}

// tail returns the end of a log.
func tail(b []byte) string {
	const n = 400
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return strings.TrimSpace(string(b))
}
