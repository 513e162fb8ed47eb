package tokens

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestTokenRequestFailureHidesTokenURLQuery: a token request that fails
// before an answer (connection refused, a timeout) failed with net/http's
// *url.Error, whose message quotes the token URL with its query: a
// credential a token endpoint takes there (a legacy IdP's client_secret,
// an API gateway's key) went into the error, the Cache's RefreshError and
// whatever the error handler logs. DESIGN says *url.Error carries the
// query string and must be redacted; the client's error redaction does it
// for calls through client.New, not for a Source or Cache used on its own.
// The query values are now redacted (the keys and the rest of the URL
// shown), and errors.As still reaches the *url.Error.
func TestTokenRequestFailureHidesTokenURLQuery(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: the request fails with connection refused
	const secret = "q-s3cr3t-in-token-url"
	cfg := OAuth2Config{
		TokenURL: "http://" + addr + "/token?client_secret=" + secret + "&tenant=t1",
		ClientID: "c",
		Auth:     ClientSecretBasic(StaticSecret([]byte("s"))),
	}
	cc, err := NewClientCredentials(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRefresher(cfg, NewMemoryStore(), "rt")
	if err != nil {
		t.Fatal(err)
	}
	r.store.Set(context.Background(), "rt", []byte("rt-0"))
	reported := make(chan error, 1)
	c := mustCache(t, cc, WithErrorHandler(func(err error) {
		select {
		case reported <- err:
		default:
		}
	}))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, ccErr := cc.Token(ctx)
	_, rErr := r.Token(ctx)
	_, cErr := c.Token(ctx)
	rep := <-reported // the failed refresh, reported after Token returned
	c.Close()
	for name, err := range map[string]error{"ClientCredentials": ccErr, "Refresher": rErr, "Cache": cErr} {
		if err == nil {
			t.Fatalf("%s: no error", name)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: error %q quotes the token URL's query value", name, err)
		}
		if !strings.Contains(err.Error(), "client_secret=") || !strings.Contains(err.Error(), addr) {
			t.Errorf("%s: error %q does not show the token URL's host and query keys", name, err)
		}
		if _, ok := errors.AsType[*url.Error](err); !ok {
			t.Errorf("%s: errors.As does not reach the *url.Error in %q", name, err)
		}
	}
	if strings.Contains(rep.Error(), secret) {
		t.Errorf("reported error %q quotes the token URL's query value", rep)
	}
}
