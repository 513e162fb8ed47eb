package tokens

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// ownURLSource is a caller's Source of its own (no SourceFunc, no
// FromOAuth2): it posts to a token URL with http.Client and returns its
// error wrapped in words of its own.
type ownURLSource struct{ url string }

var errOwnSource = errors.New("own source sentinel")

func (s ownURLSource) Token(ctx context.Context) (Token, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, strings.NewReader("grant_type=client_credentials"))
	if err != nil {
		return Token{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Token{}, fmt.Errorf("idp (%w): %w", errOwnSource, err)
	}
	resp.Body.Close()
	return Token{}, errors.New("unexpected answer")
}

// TestCacheSourceURLErrorQueryRedacted: a caller's own token source
// wrapped in a Cache outside client.New (or used as a SourceFunc, or
// as transport.NewAuth's Source on its own) failed with net/http's
// *url.Error, whose message quotes the token URL with its query (a
// legacy IdP's client_secret, an API gateway's key): the secret went
// into Cache.Token's *RefreshError and into what the error handler logs.
// client.New redacts it; the package's own sources (ClientCredentials,
// Refresher, FromOAuth2) redact it too. A Cache and a SourceFunc now
// redact the query values of every *url.Error in a source's error (the
// keys, host and path shown); errors.As still reaches the *url.Error and
// errors.Is the caller's sentinel.
func TestCacheSourceURLErrorQueryRedacted(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: connection refused
	const secret = "q-s3cr3t-own-source-23"
	src := ownURLSource{url: "http://" + addr + "/token?client_secret=" + secret + "&tenant=t1"}
	reported := make(chan error, 1)
	c := mustCache(t, src, WithErrorHandler(func(err error) {
		select {
		case reported <- err:
		default:
		}
	}))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, cErr := c.Token(ctx)
	rep := <-reported
	c.Close()
	_, fErr := SourceFunc(src.Token).Token(ctx)
	for name, err := range map[string]error{"Cache.Token": cErr, "error handler": rep, "SourceFunc": fErr} {
		if err == nil {
			t.Fatalf("%s: no error", name)
		}
		for _, s := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%q", err)} {
			if strings.Contains(s, secret) {
				t.Errorf("%s: error %s quotes the token URL's query value", name, s)
			}
		}
		if !strings.Contains(err.Error(), "client_secret=") || !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "idp (") {
			t.Errorf("%s: error %q does not show the caller's words, the token URL's host and query keys", name, err)
		}
		if _, ok := errors.AsType[*url.Error](err); !ok {
			t.Errorf("%s: errors.As does not reach the *url.Error in %q", name, err)
		}
		if !errors.Is(err, errOwnSource) {
			t.Errorf("%s: errors.Is does not reach the source's sentinel in %q", name, err)
		}
	}
}
