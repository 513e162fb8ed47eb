package oauth2

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestServerResourceDuringRotation: the embedded server itself is free of
// data races when its resource server is asked about a token that is no
// live access token (one a rotation just revoked, here a made-up one)
// while the token endpoint rotates the grant: fosite's introspection then
// looks the token up among the refresh tokens, the map a rotation writes.
// Every such call is answered 401.
func TestServerResourceDuringRotation(t *testing.T) {
	s := newAuthServer(t, time.Hour)
	dir := t.TempDir() + "/secrets"
	s.provision(t, dir)
	p := s.start(t, dir)
	var stop atomic.Bool
	var calls, wrong atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for !stop.Load() {
				req, _ := http.NewRequest("GET", s.rs.URL+"/resource", nil)
				req.Header.Set("Authorization", "Bearer ory_at_dead.dead")
				resp, err := s.client.Do(req)
				if err != nil {
					t.Errorf("resource: %v", err)
					return
				}
				resp.Body.Close()
				calls.Add(1)
				if resp.StatusCode != http.StatusUnauthorized {
					wrong.Add(1)
				}
			}
		})
	}
	ctx := context.Background()
	for range 20 {
		tok, err := p.cache.Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		p.cache.Invalidate(tok)
	}
	stop.Store(true)
	wg.Wait()
	if n := s.requests("refresh_token"); n < 1 {
		t.Fatalf("%d refresh requests, want at least 1", n)
	}
	if n := wrong.Load(); n != 0 {
		t.Fatalf("%d of %d calls with a dead token not answered 401", n, calls.Load())
	}
}
