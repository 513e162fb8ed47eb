package client_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/transport"
)

// auditRig is a client with an audit log.
type auditRig struct {
	c   *client.Client
	mu  sync.Mutex
	buf bytes.Buffer
}

func newAuditRig(t *testing.T, more ...client.Option) *auditRig {
	t.Helper()
	r := &auditRig{}
	c, err := client.New(opts(loopback(), append([]client.Option{
		client.WithAuditLog(slog.New(slog.NewJSONHandler(lockedWriter{&r.mu, &r.buf}, nil))),
	}, more...)...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	r.c = c
	return r
}

// records returns the audit records written so far.
func (r *auditRig) records(t *testing.T) []map[string]any {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(r.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func (r *auditRig) raw() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.String()
}

// A redirect hop the client's redirect policy refuses was in no audit
// record: the auditor saw the 3xx of the hop before it and nothing of the
// refused hop, while the call failed with ErrRedirectDenied. It is
// recorded like any refused call: method, origin, redacted URL, no status,
// error.type redirect_denied and the error's message.
func TestAuditRecordsRefusedRedirectHop(t *testing.T) {
	const secret = "s3cr3t-query-value"
	foreign := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	var own string
	srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/foreign":
			http.Redirect(w, r, foreign.URL+"/x?token="+secret, http.StatusFound)
		case "/loop":
			http.Redirect(w, r, own+"/loop?token="+secret, http.StatusFound)
		case "/userinfo":
			http.Redirect(w, r, strings.Replace(own, "https://", "https://user:pw-"+secret+"@", 1)+"/u?token="+secret+"#frag-"+secret, http.StatusFound)
		case "/body":
			// A 307 replays the body: refused towards a foreign origin.
			http.Redirect(w, r, foreign.URL+"/y?token="+secret, http.StatusTemporaryRedirect)
		}
	}))
	own = srv.URL
	for _, tc := range []struct {
		name, method, path, wantURL, reason string
		more                                []client.Option
	}{
		{"foreign origin", http.MethodGet, "/foreign", foreign.URL + "/x?token=REDACTED", "origin not allowed", nil},
		{"too many redirects", http.MethodGet, "/loop", own + "/loop?token=REDACTED", "more than 2 redirects", []client.Option{client.WithMaxRedirects(2)}},
		{"userinfo in Location", http.MethodGet, "/userinfo", own + "/u?token=REDACTED", "location carries userinfo", nil},
		{"body to foreign origin", http.MethodPost, "/body", foreign.URL + "/y?token=REDACTED", "would replay the request body", []client.Option{client.WithRedirectOrigins(foreign.URL)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newAuditRig(t, append([]client.Option{client.WithOrigins(own)}, tc.more...)...)
			req, _ := http.NewRequest(tc.method, own+tc.path, nil)
			if tc.method == http.MethodPost {
				req, _ = http.NewRequest(tc.method, own+tc.path, strings.NewReader("payload"))
			}
			resp, err := r.c.Do(req)
			if err == nil {
				resp.Body.Close()
				t.Fatalf("redirect followed: %s", resp.Status)
			}
			if !errors.Is(err, client.ErrRedirectDenied) {
				t.Fatalf("err = %v, want ErrRedirectDenied", err)
			}
			recs := r.records(t)
			if len(recs) == 0 {
				t.Fatal("no audit record")
			}
			last := recs[len(recs)-1]
			if last[transport.AuditStatus] != nil {
				t.Fatalf("last record is the hop before, status %v: the refused hop has no record:\n%s", last[transport.AuditStatus], r.raw())
			}
			if got := last[transport.AuditMethod]; got != tc.method {
				t.Errorf("method = %v, want %s", got, tc.method)
			}
			if got := last[transport.AuditURL]; got != tc.wantURL {
				t.Errorf("url.full = %v, want %s", got, tc.wantURL)
			}
			if got := last[transport.AuditErrType]; got != transport.ErrorTypeRedirectDenied {
				t.Errorf("error.type = %v, want %s", got, transport.ErrorTypeRedirectDenied)
			}
			if msg, _ := last[transport.AuditError].(string); !strings.Contains(msg, tc.reason) {
				t.Errorf("error.message = %q, want the reason %q", msg, tc.reason)
			}
			if got := last[transport.AuditAttempts]; got != float64(0) {
				t.Errorf("attempts = %v, want 0 (nothing sent)", got)
			}
			if strings.Contains(r.raw(), secret) {
				t.Errorf("audit log holds the query value:\n%s", r.raw())
			}
			// Every record but the refused hop's is a followed 3xx.
			for _, rec := range recs[:len(recs)-1] {
				if rec[transport.AuditStatus] == nil {
					t.Errorf("extra failed record: %v", rec)
				}
			}
		})
	}
}
