package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestResilienceExample runs the four scenarios and checks the report:
// counts and order only, never how long anything took.
func TestResilienceExample(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []string{
		// 1. retried GET
		"upstream answered: 503, 503, 200\n",
		`client got: 200 OK after 3 attempts, body: {"report":"ready"}`,
		// 2. POST after a lost answer
		"without Idempotency-Key: error after 1 attempt, not sent again (RetryError.Reason not_replayable;",
		"  upstream: 1 request, 1 payment executed;",
		"with client.WithIdempotencyKeys(): 201 Created after 2 attempts, body: {\"payment\":2,",
		"(Idempotent-Replayed: true)",
		"  upstream: 2 requests, same Idempotency-Key on each: true, 1 payment executed\n",
		// 3. Retry-After honoured, and one that cannot fit
		"429 with Retry-After: 1, then 200: 200 OK after 2 attempts, body: ok\n",
		"  upstream: 2 requests; measured between them: ",
		"  transport: retry: 1 attempt (deadline), last status 429: transport: retry-after wait of ",
		"  *transport.RetryError: 1 attempt, reason deadline, last status 429\n",
		"  *transport.DeadlineError: retry-after wait of ",
		"  errors.Is ErrRateLimited: true, context.DeadlineExceeded: true\n",
		"(standard preset, waits capped at 20s): 429 Too Many Requests after 1 attempt, body: quota exhausted",
		"  upstream: 2 requests for these 2 calls\n",
		// 4. outage
		"call 1: 503 Service Unavailable after 3 attempts, 3 requests sent\n",
		"call 2: 503 Service Unavailable after 2 attempts, 2 requests sent\n",
		"upstream recovers\n",
		"after the open period, the probe: 200 OK after 1 attempt, body: ok\n",
		"3 more calls: 3 succeeded\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}

	// The Retry-After: 120 call was refused because the wait (at least
	// the 120 s asked) did not fit the 2 s left, not after sleeping.
	if m := regexp.MustCompile(`DeadlineError: retry-after wait of (\d+)m\d+s asked`).FindStringSubmatch(got); m == nil || m[1] != "2" {
		t.Errorf("DeadlineError wait not about 2 minutes:\n%s", got)
	}

	// While the breaker is open, calls fail fast and send nothing. (A
	// machine stalled past the 300 ms open period may let a probe through
	// early; the probe fails, the breaker opens again, and the check
	// still holds for every call refused.)
	open := regexp.MustCompile(`(?m)^call \d+: circuit open \(client\.ErrCircuitOpen, may close in [^)]*\), (\d+) requests? sent$`).FindAllStringSubmatch(got, -1)
	if len(open) == 0 {
		t.Errorf("no call failed fast with the breaker open:\n%s", got)
	}
	for _, m := range open {
		if m[1] != "0" {
			t.Errorf("a call refused by the open breaker sent %s requests:\n%s", m[1], got)
		}
	}
	if !regexp.MustCompile(`(?m)^breaker states: closed -> open( -> half-open -> open)* -> half-open -> closed$`).MatchString(got) {
		t.Errorf("breaker did not go closed -> open -> half-open -> closed:\n%s", got)
	}
}
