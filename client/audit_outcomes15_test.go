package client_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
)

// Regression guard: one audit record per call, with the final outcome and
// the physical sends, through the whole client stack: retries (503, 503,
// 200), a 401 replayed once with a new token, the caller's cancellation
// and an open circuit (nothing sent, no credential).
func TestAuditOutcomesThroughTheStack(t *testing.T) {
	var n atomic.Int32
	srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k := n.Add(1)
		switch r.URL.Path {
		case "/retry":
			if k <= 2 {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
		case "/401":
			if strings.HasSuffix(r.Header.Get("Authorization"), "t1") {
				w.WriteHeader(http.StatusUnauthorized)
			}
		case "/hang":
			<-r.Context().Done()
		case "/503":
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	var toks atomic.Int32
	src := tokens.SourceFunc(func(context.Context) (tokens.Token, error) {
		if toks.Add(1) == 1 {
			return tokens.NewToken("t1", "Bearer", time.Now().Add(time.Hour)), nil
		}
		return tokens.NewToken("t2", "Bearer", time.Now().Add(time.Hour)), nil
	})
	r := newAuditRig(t, client.WithOrigins(srv.URL), client.WithTokenSource(src),
		client.WithRetryPolicy(nil, func(time.Duration, time.Duration, int, *http.Response) time.Duration { return 0 }))
	do := func(ctx context.Context, path string) (int, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path, nil)
		resp, err := r.c.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	check := func(path string, status, attempts int, auth, errType string) {
		t.Helper()
		recs := r.records(t)
		if len(recs) == 0 {
			t.Fatalf("%s: no record", path)
		}
		rec := recs[len(recs)-1]
		st, _ := rec[transport.AuditStatus].(float64)
		et, _ := rec[transport.AuditErrType].(string)
		if rec[transport.AuditURL] != srv.URL+path || int(st) != status || rec[transport.AuditAttempts] != float64(attempts) || rec[transport.AuditAuth] != auth || et != errType {
			t.Errorf("%s: record %v, want status %d, %d attempts, auth %s, error.type %q", path, rec, status, attempts, auth, errType)
		}
	}
	n.Store(0)
	if st, err := do(t.Context(), "/retry"); err != nil || st != http.StatusOK {
		t.Fatalf("/retry: %d %v", st, err)
	}
	check("/retry", 200, 3, "bearer", "")
	if st, err := do(t.Context(), "/401"); err != nil || st != http.StatusOK {
		t.Fatalf("/401: %d %v", st, err)
	}
	check("/401", 200, 2, "bearer", "")
	ctx, cancel := context.WithCancel(t.Context())
	n.Store(0)
	go func() {
		for n.Load() == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	if _, err := do(ctx, "/hang"); !errors.Is(err, context.Canceled) {
		t.Fatalf("/hang: %v, want context.Canceled", err)
	}
	check("/hang", 0, 1, "bearer", transport.ErrorTypeCanceled)
	calls := 0
	for ; calls < 20; calls++ {
		if _, err := do(t.Context(), "/503"); errors.Is(err, client.ErrCircuitOpen) {
			break
		}
	}
	if calls == 20 {
		t.Fatal("circuit never opened")
	}
	check("/503", 0, 0, "none", transport.ErrorTypeCircuitOpen)
	// One record per call: /retry, /401, /hang, and each /503 call.
	if got, want := len(r.records(t)), 3+calls+1; got != want {
		t.Errorf("%d records, want %d:\n%s", got, want, r.raw())
	}
}
