package client_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
)

const (
	rrToken    = "CANARY-respreq-token"
	rrKey      = "CANARY-respreq-headerkey"
	rrQueryKey = "CANARY-respreq-querykey"
)

// TestResponseRequestCarriesNoCredentials: resp.Request is what a caller
// logs or dumps (httputil.DumpRequestOut, a logging middleware, an error
// report). The server gets the attempt's bearer token, API keys and
// signature, but resp.Request shows the request as the caller made it:
// no credential the stack added, in its header or in its URL's query;
// its context is still the attempt's (transport.Attempts) and its URL the
// one asked for. On HTTP/1.1 and HTTP/2, for a first attempt, a retried
// one and the auth layer's replay after a 401.
func TestResponseRequestCarriesNoCredentials(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		for _, tc := range []struct {
			name     string
			first    int // the status of the first answer (0: 200 at once)
			attempts int
		}{
			{"first", 0, 1},
			{"retried", http.StatusServiceUnavailable, 2},
			{"replay401", http.StatusUnauthorized, 1},
		} {
			proto := "h1"
			if h2 {
				proto = "h2"
			}
			t.Run(proto+"/"+tc.name, func(t *testing.T) {
				var (
					mu   sync.Mutex
					seen []http.Header
				)
				var n atomic.Int32
				srv := faServer(t, h2, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					_, _ = io.Copy(io.Discard, r.Body)
					mu.Lock()
					h := r.Header.Clone()
					h.Set("X-Query", r.URL.RawQuery)
					seen = append(seen, h)
					mu.Unlock()
					if n.Add(1) == 1 && tc.first != 0 {
						w.WriteHeader(tc.first)
						return
					}
					_, _ = io.WriteString(w, "ok")
				}))
				rc := transport.StandardPreset()
				rc.Retry.BaseDelay, rc.Retry.MaxDelay = time.Millisecond, time.Millisecond
				rc.DisableThrottle, rc.DisableBreaker = true, true
				var fetches atomic.Int32
				src := tokens.SourceFunc(func(context.Context) (tokens.Token, error) {
					return tokens.NewToken(fmt.Sprintf("%s-%d", rrToken, fetches.Add(1)), "Bearer", time.Now().Add(time.Hour)), nil
				})
				c, err := client.New(opts(loopback(),
					client.WithOrigins(srv.URL),
					client.WithTokenSource(src),
					client.WithAPIKey("X-Api-Key", tokens.Static(tokens.NewToken(rrKey, "", time.Time{}))),
					client.WithHMACSigning(hmacKeys(t)),
					client.WithResilience(rc),
				)...)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()

				url := srv.URL + "/v1/items?page=2"
				req, _ := http.NewRequest(http.MethodPut, url, strings.NewReader(`{"a":1}`))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Caller", "mine")
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("status %d, want 200", resp.StatusCode)
				}
				wantProto := 1
				if h2 {
					wantProto = 2
				}
				if resp.ProtoMajor != wantProto {
					t.Fatalf("ProtoMajor %d, want %d", resp.ProtoMajor, wantProto)
				}

				// The server saw every credential on the answered send.
				mu.Lock()
				last := seen[len(seen)-1]
				sends := len(seen)
				mu.Unlock()
				if sends != 2 && tc.first != 0 || sends != 1 && tc.first == 0 {
					t.Fatalf("server saw %d sends", sends)
				}
				if !strings.HasPrefix(last.Get("Authorization"), "Bearer "+rrToken) || last.Get("X-Api-Key") != rrKey ||
					last.Get("Signature") == "" || last.Get("Signature-Input") == "" {
					t.Fatalf("the server did not see the credentials: %v", last)
				}

				rr := resp.Request
				if rr == nil {
					t.Fatal("resp.Request is nil")
				}
				for _, k := range []string{"Authorization", "X-Api-Key", "Signature", "Signature-Input"} {
					if v := rr.Header.Values(k); len(v) != 0 {
						t.Errorf("resp.Request.Header[%s] = %q: the attempt's credentials", k, v)
					}
				}
				dump, err := httputil.DumpRequestOut(rr, false)
				if err != nil {
					t.Fatal(err)
				}
				for _, canary := range []string{rrToken, rrKey, last.Get("Signature"), "Signature-Input"} {
					if strings.Contains(string(dump), canary) {
						t.Errorf("DumpRequestOut(resp.Request) shows %q:\n%s", canary, dump)
					}
				}
				// What the caller set is still there, its URL is the one asked
				// for, and its context is still the attempt's.
				if rr.Header.Get("X-Caller") != "mine" || rr.Method != http.MethodPut {
					t.Errorf("resp.Request lost the caller's request: %s %v", rr.Method, rr.Header)
				}
				if rr.URL.String() != url {
					t.Errorf("resp.Request.URL = %s, want %s", rr.URL, url)
				}
				if got := transport.Attempts(resp); got != tc.attempts {
					t.Errorf("transport.Attempts(resp) = %d, want %d", got, tc.attempts)
				}
				if req.Header.Get("Authorization") != "" || req.Header.Get("Signature") != "" {
					t.Error("the caller's request was modified")
				}
				if b, _ := io.ReadAll(resp.Body); string(b) != "ok" {
					t.Errorf("body %q", b)
				}
				resp.Body.Close()
				if err := rr.Context().Err(); err == nil {
					t.Error("resp.Request.Context() not canceled after Close: the attempt's context was lost")
				}
			})
		}
	}
}

// TestResponseRequestURLHasNoQueryKey: an API key sent in the query
// (WithAPIKeyInQuery) reaches the server but not resp.Request.URL, which
// DumpRequestOut and URL.String show.
func TestResponseRequestURLHasNoQueryKey(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		var got atomic.Value
		srv := faServer(t, h2, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got.Store(r.URL.Query().Get("key"))
		}))
		c, err := client.New(opts(loopback(),
			client.WithOrigins(srv.URL),
			client.WithAPIKeyInQuery("key", tokens.Static(tokens.NewToken(rrQueryKey, "", time.Time{}))),
		)...)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/things?q=1", nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		c.Close()
		if got.Load() != rrQueryKey {
			t.Fatalf("h2=%v: the server saw key %q", h2, got.Load())
		}
		if strings.Contains(resp.Request.URL.String(), rrQueryKey) {
			t.Errorf("h2=%v: resp.Request.URL = %s: the API key", h2, resp.Request.URL)
		}
		if dump, _ := httputil.DumpRequestOut(resp.Request, false); strings.Contains(string(dump), rrQueryKey) {
			t.Errorf("h2=%v: DumpRequestOut(resp.Request) shows the API key:\n%s", h2, dump)
		}
		if resp.Request.URL.Query().Get("q") != "1" || transport.Attempts(resp) != 1 {
			t.Errorf("h2=%v: resp.Request.URL = %s, attempts %d", h2, resp.Request.URL, transport.Attempts(resp))
		}
	}
}
