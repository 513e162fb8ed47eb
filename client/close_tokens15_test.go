package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
)

// hungTokenServer is a token endpoint that answers no request: each waits
// until the client goes away. issued counts the requests; arrived is
// closed at the first.
func hungTokenServer(t *testing.T, h2 bool) (srv *httptest.Server, conns *connCounter, issued *atomic.Int32, arrived chan struct{}) {
	t.Helper()
	issued, arrived = new(atomic.Int32), make(chan struct{})
	srv, conns = newConnCountingServer(t, h2, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm() // read whole: the server sees the client close the connection
		if issued.Add(1) == 1 {
			close(arrived)
		}
		<-r.Context().Done()
	}))
	return srv, conns, issued, arrived
}

// goGet sends a GET of url with c on a goroutine of its own and hands
// back the call's error (its body, if any, closed).
func goGet(c *client.Client, url string) <-chan error {
	errc := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	return errc
}

// TestCloseCancelsHungTokenRefresh: a call waits for the client's first
// token, whose request a token endpoint holds and never answers. Close
// cancels that refresh (the cache the client built for
// WithOAuth2ClientCredentials): the call fails with an error matching
// tokens.ErrClosed, the token request's connection is closed and no
// goroutine is left, without waiting for the refresh timeout
// (tokens.DefaultRefreshTimeout, 30 s), and no token request follows.
func TestCloseCancelsHungTokenRefresh(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("h2=%v", h2), func(t *testing.T) {
			tokenSrv, tokenConns, issued, arrived := hungTokenServer(t, h2)
			var served atomic.Int32
			apiSrv, apiConns := newConnCountingServer(t, h2, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				served.Add(1)
				io.WriteString(w, "ok")
			}))
			origin, tokenOrigin := localhostURL(apiSrv.URL), localhostURL(tokenSrv.URL)
			runtime.GC()
			baseline := runtime.NumGoroutine()
			c, err := client.New(opts(loopback(),
				client.WithOrigins(origin),
				client.WithOAuth2ClientCredentials(tokens.OAuth2Config{
					TokenURL: tokenOrigin + "/token",
					ClientID: "close15",
					Auth:     tokens.ClientSecretBasic(tokens.StaticSecret([]byte("s3cret"))),
				}),
			)...)
			if err != nil {
				t.Fatal(err)
			}
			errc := goGet(c, origin+"/x")
			<-arrived
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			var callErr error
			for i := 0; ; i++ {
				select {
				case callErr = <-errc:
				default:
					if i == 1500 {
						t.Fatal("the call waiting for the token is still waiting 15 s after Close")
					}
					time.Sleep(10 * time.Millisecond)
					continue
				}
				break
			}
			if !errors.Is(callErr, tokens.ErrClosed) {
				t.Errorf("call waiting for the token at Close: %v, want tokens.ErrClosed", callErr)
			}
			waitConns(t, "token server", tokenConns)
			waitConns(t, "API server", apiConns)
			waitGoroutines(t, baseline)
			if n := issued.Load(); n != 1 {
				t.Errorf("%d token requests, want 1", n)
			}
			if n := served.Load(); n != 0 {
				t.Errorf("%d requests reached the API server without a token", n)
			}
		})
	}
}

// TestCloseLeavesCallerCacheOpen: a *tokens.Cache the caller built and
// gave to WithTokenSource is the caller's (it may serve other clients):
// Close leaves it open.
func TestCloseLeavesCallerCacheOpen(t *testing.T) {
	var n atomic.Int32
	cache, err := tokens.NewCache(tokens.SourceFunc(func(context.Context) (tokens.Token, error) {
		return tokens.NewToken(fmt.Sprintf("tok-%d", n.Add(1)), "Bearer", time.Now().Add(time.Hour)), nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer cache.Close()
	c, err := client.New(opts(loopback(), client.WithOrigins("https://localhost:1"), client.WithTokenSource(cache))...)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	tok, err := cache.Token(context.Background())
	if err != nil || tok.Value() != "tok-1" {
		t.Fatalf("caller's cache after the client's Close: %v, %v", tok.Value(), err)
	}
}

// TestCloseTokenClosedIsNotRetried: a call in flight at Close that needs a
// token gets tokens.ErrClosed once: the retry layer does not try again (a
// closed cache answers every attempt the same), spending waits and
// attempts after Close.
func TestCloseTokenClosedIsNotRetried(t *testing.T) {
	tokenSrv, _, _, arrived := hungTokenServer(t, false)
	apiSrv, _ := newConnCountingServer(t, false, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	origin, tokenOrigin := localhostURL(apiSrv.URL), localhostURL(tokenSrv.URL)
	rc := transport.StandardPreset()
	rc.Retry.BaseDelay, rc.Retry.MaxDelay = time.Millisecond, time.Millisecond
	c, err := client.New(opts(loopback(), client.WithOrigins(origin), client.WithResilience(rc),
		client.WithOAuth2ClientCredentials(tokens.OAuth2Config{
			TokenURL: tokenOrigin + "/token",
			ClientID: "close15",
			Auth:     tokens.ClientSecretBasic(tokens.StaticSecret([]byte("s3cret"))),
		}))...)
	if err != nil {
		t.Fatal(err)
	}
	errc := goGet(c, origin+"/x")
	<-arrived
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	err = <-errc
	if !errors.Is(err, tokens.ErrClosed) {
		t.Fatalf("call: %v, want tokens.ErrClosed", err)
	}
	if re, ok := errors.AsType[*transport.RetryError](err); ok && re.Attempts != 1 {
		t.Errorf("call: %d attempts, want 1: %v", re.Attempts, err)
	}
}
