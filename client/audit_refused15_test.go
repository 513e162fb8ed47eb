package client_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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

// A malformed request the client refuses before the stack runs (an invalid
// method, a control character, space or '#' in the URL, an invalid header
// or trailer field, a body shorter than its ContentLength) and a call made
// after Close got no audit record, although the service attempted the
// call: it is recorded as a refused call, with the method, the redacted
// URL, no status, 0 attempts and the error's type and message (which name
// a field, never its value). A request refused inside the stack (a scheme
// the egress check refuses) was, and still is, recorded once.
func TestAuditRecordsRequestRefusedUpFront(t *testing.T) {
	const secret = "s3cr3t-header-value"
	srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	newReq := func(method, target string, body string) *http.Request {
		var req *http.Request
		var err error
		if body != "" {
			req, err = http.NewRequest(http.MethodPost, target, strings.NewReader(body))
		} else {
			req, err = http.NewRequest(http.MethodGet, target, nil)
		}
		if err != nil {
			t.Fatal(err)
		}
		req.Method = method
		return req
	}
	for _, tc := range []struct {
		name    string
		req     func() *http.Request
		close   bool
		wantErr error
		errType string
	}{
		{name: "invalid method", req: func() *http.Request { return newReq("GE T", srv.URL+"/m?k=v", "") }, wantErr: client.ErrInvalidRequest, errType: transport.ErrorTypeInvalidRequest},
		{name: "control character in query", req: func() *http.Request {
			r := newReq(http.MethodGet, srv.URL+"/q", "")
			r.URL.RawQuery = "k=a\x01b"
			return r
		}, wantErr: client.ErrInvalidRequest, errType: transport.ErrorTypeInvalidRequest},
		{name: "space in query", req: func() *http.Request {
			r := newReq(http.MethodGet, srv.URL+"/q", "")
			r.URL.RawQuery = "k=a b"
			return r
		}, wantErr: client.ErrInvalidRequest, errType: transport.ErrorTypeInvalidRequest},
		{name: "invalid header value", req: func() *http.Request {
			r := newReq(http.MethodGet, srv.URL+"/h", "")
			r.Header.Set("X-Token", secret+"\n")
			return r
		}, wantErr: client.ErrInvalidRequest, errType: transport.ErrorTypeInvalidRequest},
		{name: "invalid header name", req: func() *http.Request {
			r := newReq(http.MethodGet, srv.URL+"/h", "")
			r.Header["X Token"] = []string{secret}
			return r
		}, wantErr: client.ErrInvalidRequest, errType: transport.ErrorTypeInvalidRequest},
		{name: "body length", req: func() *http.Request {
			r := newReq(http.MethodPost, srv.URL+"/b", "abc")
			r.ContentLength = 10
			return r
		}, wantErr: client.ErrInvalidRequest, errType: transport.ErrorTypeInvalidRequest},
		{name: "trailer key", req: func() *http.Request {
			r := newReq(http.MethodPost, srv.URL+"/t", "abc")
			r.Trailer = http.Header{"Content-Length": nil}
			return r
		}, wantErr: client.ErrInvalidRequest, errType: transport.ErrorTypeInvalidRequest},
		{name: "closed client", req: func() *http.Request { return newReq(http.MethodGet, srv.URL+"/c?k=v", "") }, close: true, wantErr: client.ErrClosed, errType: transport.ErrorTypeClosed},
		{name: "scheme refused in the stack", req: func() *http.Request { return newReq(http.MethodGet, "ftp://localhost/f?k=v", "") }, wantErr: client.ErrEgressDenied, errType: transport.ErrorTypeEgressDenied},
	} {
		for _, via := range []string{"Do", "Transport"} {
			t.Run(tc.name+"/"+via, func(t *testing.T) {
				r := newAuditRig(t)
				if tc.close {
					r.c.Close()
				}
				req := tc.req()
				var err error
				var resp *http.Response
				if via == "Do" {
					resp, err = r.c.Do(req)
				} else {
					resp, err = r.c.Transport().RoundTrip(req)
				}
				if err == nil {
					resp.Body.Close()
					t.Fatalf("request sent: %s", resp.Status)
				}
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				recs := r.records(t)
				if len(recs) != 1 {
					t.Fatalf("%d audit records, want 1:\n%s", len(recs), r.raw())
				}
				rec := recs[0]
				if got := rec[transport.AuditMethod]; got != req.Method {
					t.Errorf("method = %v, want %s", got, req.Method)
				}
				if rec[transport.AuditStatus] != nil {
					t.Errorf("status = %v, want none", rec[transport.AuditStatus])
				}
				if got := rec[transport.AuditAttempts]; got != float64(0) {
					t.Errorf("attempts = %v, want 0", got)
				}
				if got := rec[transport.AuditErrType]; got != tc.errType {
					t.Errorf("error.type = %v, want %s", got, tc.errType)
				}
				if u, _ := rec[transport.AuditURL].(string); !strings.HasSuffix(strings.SplitN(u, "?", 2)[0], req.URL.Path) || strings.Contains(u, "=v") {
					t.Errorf("url.full = %q: not the request's redacted URL", u)
				}
				if strings.Contains(r.raw(), secret) {
					t.Errorf("audit log holds the header value:\n%s", r.raw())
				}
			})
		}
	}
}

// A request without a URL names no destination: it is refused (Do, as
// http.Client does; Transport, by the client) and not recorded.
func TestAuditNilURLNotRecorded(t *testing.T) {
	r := newAuditRig(t)
	if _, err := r.c.Do(&http.Request{Method: http.MethodGet, Header: http.Header{}}); err == nil {
		t.Fatal("Do: nil URL accepted")
	}
	if _, err := r.c.Transport().RoundTrip(&http.Request{Method: http.MethodGet, Header: http.Header{}}); err == nil {
		t.Fatal("Transport: nil URL accepted")
	}
	r.c.Close()
	if _, err := r.c.Do(&http.Request{Method: http.MethodGet, Header: http.Header{}}); err == nil {
		t.Fatal("Do after Close: nil URL accepted")
	}
	if recs := r.records(t); len(recs) != 0 {
		t.Fatalf("%d audit records, want 0:\n%s", len(recs), r.raw())
	}
}

// A request refused before the stack, made with the context of an earlier
// call's response (resp.Request.Context(), a follow-up call), sent
// nothing: its record says 0 attempts, not the earlier call's count.
func TestAuditRefusedFollowUpHasNoAttempts(t *testing.T) {
	var n atomic.Int32
	srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/flaky" && n.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
	}))
	r := newAuditRig(t, client.WithOrigins(srv.URL), client.WithTimeout(0),
		client.WithRetryPolicy(nil, func(time.Duration, time.Duration, int, *http.Response) time.Duration { return 0 }))
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/flaky", nil)
	resp, err := r.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ctx := resp.Request.Context()
	bad, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/next", nil)
	bad.Header.Set("X-Bad", "a\nb")
	if _, err := r.c.Do(bad); !errors.Is(err, client.ErrInvalidRequest) {
		t.Fatalf("err = %v, want ErrInvalidRequest", err)
	}
	recs := r.records(t)
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2:\n%s", len(recs), r.raw())
	}
	if got := recs[0][transport.AuditAttempts]; got != float64(2) {
		t.Fatalf("first call: attempts = %v, want 2", got)
	}
	if got := recs[1][transport.AuditAttempts]; got != float64(0) {
		t.Errorf("refused follow-up: attempts = %v, want 0 (nothing sent):\n%s", got, r.raw())
	}
}
