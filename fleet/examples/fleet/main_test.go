package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/securecall/securecall/fleet"
)

// needRedis skips the test when there is no Redis to use, except in CI
// (CI set), where .ci/run installs redis-server and its absence fails.
func needRedis(t *testing.T) {
	t.Helper()
	if os.Getenv("REDIS_URL") != "" {
		return
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("redis-server not on PATH in CI (install the redis-server package): %v", err)
		}
		t.Skip("redis-server not on PATH and REDIS_URL not set; install the redis-server package to run this test")
	}
}

// atoi parses a number the regexp matched.
func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestFleetExample runs the four scenarios on a real Redis and checks the
// report: counts and bounds, never how long anything took.
func TestFleetExample(t *testing.T) {
	needRedis(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	got := out.String()
	t.Log("\n" + got)

	for _, want := range []string{
		// 2. cooldown
		"a got the 429: its cooldown store wrote securecall-example-",
		"b, a call with 300ms left: refused before sending (client.ErrRateLimited: a cooldown wait of ",
		"; the API saw 0 requests from b\n",
		"c, a call with time to spare: 200 OK after 1 attempt, ",
		"a: its retry layer waited too, then sent again: 200 OK after 2 attempts\n",
		// 3. breaker
		"a, call 1: 503 Service Unavailable after 1 attempt\n",
		"a, call 3: 503 Service Unavailable after 1 attempt\n",
		"a, call 4: refused by a's own breaker (shared: false), 0 requests sent\n",
		"b: failed fast: circuit open (shared: true), ",
		"; the API saw 0 requests from b\n",
		"c: failed fast: circuit open (shared: true), ",
		"; the API saw 0 requests from c\n",
		"the API saw 3 requests in all, from a only\n",
		// 4. nonces
		"-> load balancer -> replica A: 200 OK\n",
		"the same request captured and sent again -> load balancer -> replica B: 401 Unauthorized, refused as a replay (signer.ErrReplay): signer: nonce replayed",
		"signed GET -> replica A: 200 OK; the replay -> replica B: 200 OK (B had never seen that nonce)\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q", want)
		}
	}

	// 1. The fleet stays within its quota: Redis's GCRA grants at most
	// burst + rate × window on a new key (2% for the clocks of the
	// program and of Redis), and the fleet uses most of it.
	m := regexp.MustCompile(`(?m)^fleet: (\d+) requests reached the API in 2s; the quota allows at most 50 \(burst\) \+ 50/s × 2s = (\d+)$`).FindStringSubmatch(got)
	if m == nil {
		t.Fatal("no quota total in the report")
	}
	total, bound := atoi(t, m[1]), atoi(t, m[2])
	if bound != 150 {
		t.Errorf("bound %d, want 150", bound)
	}
	if limit := float64(bound) * 1.02; float64(total) > limit {
		t.Errorf("the fleet sent %d in the window, more than the quota allows (%.0f)", total, limit)
	}
	if total < bound/2 {
		t.Errorf("the fleet sent %d in the window, less than half of the quota (%d)", total, bound/2)
	}
	perReplica := regexp.MustCompile(`(?m)^replica [abc]: (\d+) requests? reached the API in the window`).FindAllStringSubmatch(got, -1)
	if len(perReplica) != 3 {
		t.Fatalf("%d per-replica lines, want 3", len(perReplica))
	}
	sum := 0
	for _, r := range perReplica {
		sum += atoi(t, r[1])
	}
	if sum != total {
		t.Errorf("per-replica counts add up to %d, total says %d", sum, total)
	}

	// Redis calls at the saturated quota, within the leasing design's
	// bound (fleet's saturatedCallBound: after a short lease a replica
	// waits half to all of LeaseTTL, so at most 2 × window / LeaseTTL
	// leases, plus about 10 while its batch grows, plus leases that got
	// at least half of a batch, at most granted / 4).
	m = regexp.MustCompile(`(?m)^Redis: (\d+) lease calls for (\d+) requests = \d+ per 1,000 requests`).FindStringSubmatch(got)
	if m == nil {
		t.Fatal("no Redis call count for the saturated quota")
	}
	calls, all := atoi(t, m[1]), atoi(t, m[2])
	if b := 3*(2*int(quotaWindow/fleet.DefaultLeaseTTL)+10) + all/4; calls > b {
		t.Errorf("%d Redis calls for %d requests at the saturated quota, more than the design bound %d", calls, all, b)
	}
	if calls == 0 {
		t.Error("no Redis calls: the quota was not shared")
	}

	// Below the quota, leases are batches sized to each replica's demand
	// (about LeaseTTL/2 of it), so a replica leases about once per
	// LeaseTTL/2 however many requests it makes, plus about 10 leases
	// while its batch grows: the bound depends on the window, not on how
	// many requests a loaded machine managed to make (a slow machine makes
	// few requests, and its batches stay small), and there are never more
	// calls than requests.
	m = regexp.MustCompile(`(?m)^fleet: (\d+) requests; Redis: (\d+) lease calls = \d+ per 1,000 requests`).FindStringSubmatch(got)
	if m == nil {
		t.Fatal("no Redis call count below the quota")
	}
	n, calls := atoi(t, m[1]), atoi(t, m[2])
	if b := 3 * (2*int(roomyWindow/fleet.DefaultLeaseTTL) + 10); calls == 0 || calls > n || calls > b {
		t.Errorf("below the quota: %d Redis calls for %d requests, want more than none, no more than requests and at most the design bound %d", calls, n, b)
	}
}

// TestNoRedis: without REDIS_URL and without redis-server on PATH the
// program says how to get a Redis and succeeds.
func TestNoRedis(t *testing.T) {
	t.Setenv("REDIS_URL", "")
	t.Setenv("PATH", t.TempDir())
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatalf("run: %v", err)
	}
	for _, want := range []string{
		"This example needs a Redis server, and found none",
		"sudo apt-get install redis-server",
		"REDIS_URL=redis://host:6379/0 go run ./examples/fleet",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestBadRedisURL: a REDIS_URL that does not parse, or whose server does
// not answer, fails the program, and the error never shows the password.
func TestBadRedisURL(t *testing.T) {
	const password = "s3cret-pa55word"
	for _, u := range []string{
		"redis://user:" + password + "@127.0.0.1:notaport/0",
		"http://user:" + password + "@127.0.0.1:6379/0",
		// Port 1 on loopback: nothing listens there.
		"redis://user:" + password + "@127.0.0.1:1/0",
	} {
		t.Setenv("REDIS_URL", u)
		var out bytes.Buffer
		err := run(context.Background(), &out)
		if err == nil {
			t.Errorf("%s: run succeeded:\n%s", u, out.String())
			continue
		}
		if strings.Contains(err.Error(), password) || strings.Contains(out.String(), password) {
			t.Errorf("the password leaked: %v\n%s", err, out.String())
		}
		if !strings.Contains(err.Error(), "REDIS_URL") {
			t.Errorf("error does not name REDIS_URL: %v", err)
		}
	}
}

// TestBadRedisURLPasswordPieces: a password holding a '/' (or '?', '#')
// unescaped ends the URL's authority there, so url.Parse reads its first
// part as a port and quotes it in its error ("invalid port \":s3cret\"
// after host"), and go-redis the rest as the path ("invalid URL path"),
// which the program printed as the cause of the bad REDIS_URL.
func TestBadRedisURLPasswordPieces(t *testing.T) {
	const piece = "s3cretpiece"
	for _, u := range []string{
		"redis://user:" + piece + "/rest@127.0.0.1:6379/0",
		"redis://user:" + piece + "?rest@127.0.0.1:6379/0",
		"redis://user:" + piece + "#rest@127.0.0.1:6379/0",
		// The part before the '/' reads as a port: the rest is the
		// path, which go-redis quotes as a database number.
		"redis://user:6379/" + piece + "@127.0.0.1:6379/0",
		"redis://user:6379/" + piece + "@127.0.0.1",
	} {
		t.Setenv("REDIS_URL", u)
		var out bytes.Buffer
		err := run(context.Background(), &out)
		if err == nil {
			t.Errorf("%s: run succeeded:\n%s", u, out.String())
			continue
		}
		if strings.Contains(err.Error(), piece) || strings.Contains(out.String(), piece) {
			t.Errorf("a piece of the password leaked: %v\n%s", err, out.String())
		}
		if !strings.Contains(err.Error(), "REDIS_URL") {
			t.Errorf("error does not name REDIS_URL: %v", err)
		}
	}
}
