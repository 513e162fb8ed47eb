package client_test

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
)

var stressKeyIDRe = regexp.MustCompile(`keyid="([^"]*)"`)

// TestStressConcurrentRotation drives one client (OAuth2 client
// credentials with 1 s tokens, HMAC signing from a signer.KeySet, mTLS
// with a transport.ClientCertificate) from 16 goroutines while one
// goroutine rotates the signing key every few milliseconds and another
// installs a fresh client certificate every few milliseconds. The HTTP/2
// server verifies every signature with a Verifier sharing the KeySet,
// checks every bearer token against the ones issued (and their expiry)
// and every client certificate against the ones issued. It checks counts,
// never timings.
func TestStressConcurrentRotation(t *testing.T) {
	if testing.Short() {
		t.Skip("stress test")
	}
	const (
		workers  = 16
		run      = 3 * time.Second
		lifetime = time.Second
		// A token is served until 9/10 of its lifetime; the server allows
		// this much past its exact expiry for time in flight on a loaded
		// machine. Beyond it, the client sent an expired token.
		tokenSkew = time.Second
		// A key that stopped being current is removed after this long:
		// no request can reasonably be in flight that long.
		keyGrace = 2 * time.Second
	)

	ca, err := testpki.NewCA("stress-rotation")
	if err != nil {
		t.Fatal(err)
	}
	srvLeaf, err := ca.Server("localhost", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}

	// Client certificates: every one ever issued, by serial.
	var issuedCerts sync.Map
	newClientLeaf := func() (*testpki.Leaf, error) {
		l, err := ca.Client("client")
		if err != nil {
			return nil, err
		}
		issuedCerts.Store(l.Cert.SerialNumber.String(), true)
		return l, nil
	}

	var (
		certBad, certsSeen     atomic.Int64
		seenCerts              sync.Map
		srvMu                  sync.Mutex
		srvProblems            []string
		tokenFetches           atomic.Int64
		tokenIssuedAt          sync.Map // token -> time.Time
		tokUnknown, tokExpired atomic.Int64
		tokLate                atomic.Int64 // past exact expiry, within tokenSkew
		// Calls whose token reached the server more than tokenSkew past
		// its expiry, by call id: judged once the calls are done (a call
		// that took longer than the skew may have carried the token out
		// while it was valid).
		lateUse              sync.Map // call id -> lateToken
		callAt               sync.Map // call id -> callTimes
		sigOK, sigRemovedKey atomic.Int64
		sigFail              atomic.Int64
		rotatedOut           sync.Map // key id -> time it stopped being current
		removedKeys          sync.Map // key id -> true
		issuedKeys           sync.Map // key id -> true
	)
	problem := func(format string, args ...any) {
		srvMu.Lock()
		defer srvMu.Unlock()
		if len(srvProblems) < 20 {
			srvProblems = append(srvProblems, fmt.Sprintf(format, args...))
		}
	}
	checkCert := func(r *http.Request) bool {
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
			certBad.Add(1)
			problem("request without a client certificate")
			return false
		}
		serial := r.TLS.PeerCertificates[0].SerialNumber.String()
		if _, ok := issuedCerts.Load(serial); !ok {
			certBad.Add(1)
			problem("client certificate %s was never issued", serial)
			return false
		}
		if _, loaded := seenCerts.LoadOrStore(serial, true); !loaded {
			certsSeen.Add(1)
		}
		return true
	}
	tlsServer := func(h http.Handler) *httptest.Server {
		srv := httptest.NewUnstartedServer(h)
		srv.EnableHTTP2 = true
		srv.TLS = &tls.Config{
			Certificates: []tls.Certificate{srvLeaf.TLS},
			ClientAuth:   tls.RequireAndVerifyClientCert,
			ClientCAs:    testpki.Pool(ca),
		}
		srv.Config.ErrorLog = quietLog()
		srv.StartTLS()
		return srv
	}

	tokenSrv := tlsServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		checkCert(r)
		if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
			http.Error(w, "bad grant", http.StatusBadRequest)
			return
		}
		if id, sec, ok := r.BasicAuth(); !ok || id != "rot" || sec != "s3cret" {
			http.Error(w, "bad client", http.StatusUnauthorized)
			return
		}
		tok := "t-" + strconv.FormatInt(tokenFetches.Add(1), 10)
		tokenIssuedAt.Store(tok, time.Now())
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":%d}`, tok, int(lifetime/time.Second))
	}))
	defer tokenSrv.Close()

	newKey := func(n int) *signer.Key {
		secret := make([]byte, 32)
		rand.Read(secret)
		k, err := signer.NewHMACKey("k"+strconv.Itoa(n), secret)
		if err != nil {
			t.Fatal(err)
		}
		issuedKeys.Store(k.ID(), true)
		return k
	}
	ks, err := signer.NewKeySet(newKey(0))
	if err != nil {
		t.Fatal(err)
	}
	v, err := signer.NewVerifier(signer.VerifierOptions{Keys: ks})
	if err != nil {
		t.Fatal(err)
	}

	apiSrv := tlsServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 2 {
			problem("request over %s", r.Proto)
		}
		if !checkCert(r) {
			http.Error(w, "cert", http.StatusForbidden)
			return
		}
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		at, ok := tokenIssuedAt.Load(tok)
		switch {
		case !ok:
			tokUnknown.Add(1)
			problem("unknown token %q", tok)
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		case time.Since(at.(time.Time)) > lifetime+tokenSkew:
			tokExpired.Add(1)
			lateUse.Store(r.URL.Query().Get("id"), lateToken{tok, at.(time.Time), time.Since(at.(time.Time))})
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		case time.Since(at.(time.Time)) > lifetime:
			tokLate.Add(1)
		}
		res, err := v.Verify(r, time.Now())
		if err != nil {
			var kid string
			if m := stressKeyIDRe.FindStringSubmatch(r.Header.Get("Signature-Input")); m != nil {
				kid = m[1]
			}
			_, removed := removedKeys.Load(kid)
			if errors.Is(err, signer.ErrUnknownKey) && removed {
				sigRemovedKey.Add(1)
			} else {
				sigFail.Add(1)
				_, known := issuedKeys.Load(kid)
				problem("signature with keyid %q (issued %v, removed %v): %v", kid, known, removed, err)
			}
			http.Error(w, "signature", http.StatusUnauthorized)
			return
		}
		if out, ok := rotatedOut.Load(res.KeyID); ok && time.Since(out.(time.Time)) > keyGrace {
			problem("signature with key %s, out of rotation for %v", res.KeyID, time.Since(out.(time.Time)))
		}
		sigOK.Add(1)
		io.WriteString(w, "ok "+r.URL.Query().Get("id"))
	}))
	defer apiSrv.Close()

	origin, tokenOrigin := localhostURL(apiSrv.URL), localhostURL(tokenSrv.URL)
	first, err := newClientLeaf()
	if err != nil {
		t.Fatal(err)
	}
	cc, err := transport.NewClientCertificateFromPEM(first.CertPEM, first.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()

	baseline := runtime.NumGoroutine()
	c, err := client.New(
		client.WithTLSConfig(&tls.Config{RootCAs: testpki.Pool(ca)}),
		client.WithAllowedNetworks(netip.MustParsePrefix("127.0.0.0/8")),
		client.WithOrigins(origin),
		client.WithEgressAllowlist(origin, tokenOrigin),
		client.WithClientCertificate(cc),
		client.WithOAuth2ClientCredentials(tokens.OAuth2Config{
			TokenURL: tokenOrigin + "/token",
			ClientID: "rot",
			Auth:     tokens.ClientSecretBasic(tokens.StaticSecret([]byte("s3cret"))),
		}),
		client.WithHMACSigning(ks),
	)
	if err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	var bg sync.WaitGroup
	var keyRotations, certUpdates atomic.Int64
	bg.Go(func() { // key rotation
		type out struct {
			id string
			at time.Time
		}
		var pending []out
		cur := "k0"
		for n := 1; ; n++ {
			select {
			case <-stop:
				return
			case <-time.After(3 * time.Millisecond):
			}
			k := newKey(n)
			if err := ks.Add(k); err != nil { // the verifier learns it
				t.Error(err)
				return
			}
			if err := ks.Rotate(k); err != nil {
				t.Error(err)
				return
			}
			now := time.Now()
			rotatedOut.Store(cur, now)
			pending = append(pending, out{cur, now})
			cur = k.ID()
			keyRotations.Add(1)
			for len(pending) > 0 && now.Sub(pending[0].at) > keyGrace {
				removedKeys.Store(pending[0].id, true)
				if err := ks.Remove(pending[0].id); err != nil {
					t.Error(err)
					return
				}
				pending = pending[1:]
			}
		}
	})
	bg.Go(func() { // client certificate rotation
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			l, err := newClientLeaf()
			if err != nil {
				t.Error(err)
				return
			}
			if err := cc.Update(l.CertPEM, l.KeyPEM); err != nil {
				t.Error(err)
				return
			}
			certUpdates.Add(1)
			c.HTTPClient().CloseIdleConnections() // new connections: new handshakes
		}
	})

	var (
		total, okCalls atomic.Int64
		statusMu       sync.Mutex
		statuses       = map[int]int{}
		errKinds       = map[string]int{}
		unknownErrs    []string
	)
	kinds := []struct {
		name string
		err  error
	}{
		{"ErrClosed", client.ErrClosed}, {"ErrCircuitOpen", client.ErrCircuitOpen},
		{"ErrRateLimited", client.ErrRateLimited}, {"ErrNotReplayable", client.ErrNotReplayable},
		{"ErrPinMismatch", client.ErrPinMismatch}, {"ErrEgressDenied", client.ErrEgressDenied},
		{"ErrCertificateNotYetValid", transport.ErrCertificateNotYetValid},
		{"signer.ErrKeyUnavailable", signer.ErrKeyUnavailable},
		{"tokens.ErrBackoff", tokens.ErrBackoff}, {"tokens.ErrNoToken", tokens.ErrNoToken},
		{"context.DeadlineExceeded", context.DeadlineExceeded}, {"context.Canceled", context.Canceled},
	}
	deadline := time.Now().Add(run)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := 0; time.Now().Before(deadline); i++ {
				total.Add(1)
				id := fmt.Sprintf("%d-%d", w, i)
				var req *http.Request
				if i%2 == 0 {
					req, _ = http.NewRequest(http.MethodGet, origin+"/v1/items?id="+id, nil)
				} else {
					req, _ = http.NewRequest(http.MethodPut, origin+"/v1/items?id="+id, strings.NewReader("payload-"+id))
					req.Header.Set("Content-Type", "text/plain")
				}
				began := time.Now()
				resp, err := c.Do(req)
				callAt.Store(id, callTimes{began, time.Now()})
				if err != nil {
					kind := ""
					for _, k := range kinds {
						if errors.Is(err, k.err) {
							kind = k.name
							break
						}
					}
					statusMu.Lock()
					if kind == "" {
						if len(unknownErrs) < 20 {
							unknownErrs = append(unknownErrs, fmt.Sprintf("%T: %v", err, err))
						}
						kind = "unknown"
					}
					errKinds[kind]++
					statusMu.Unlock()
					continue
				}
				b, rerr := io.ReadAll(resp.Body)
				resp.Body.Close()
				if rerr != nil {
					statusMu.Lock()
					errKinds["body read"]++
					unknownErrs = append(unknownErrs, fmt.Sprintf("body %T: %v", rerr, rerr))
					statusMu.Unlock()
					continue
				}
				statusMu.Lock()
				statuses[resp.StatusCode]++
				statusMu.Unlock()
				if resp.StatusCode == http.StatusOK {
					okCalls.Add(1)
					if string(b) != "ok "+id {
						t.Errorf("call %s read %q", id, b)
					}
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stop)
	bg.Wait()

	t.Logf("%v: calls %d, ok %d, statuses %v, errors %v; token fetches %d (late %d), key rotations %d (removed-key refusals %d), cert updates %d, certs seen by the server %d",
		elapsed.Round(time.Millisecond), total.Load(), okCalls.Load(), statuses, errKinds, tokenFetches.Load(), tokLate.Load(),
		keyRotations.Load(), sigRemovedKey.Load(), certUpdates.Load(), certsSeen.Load())

	srvMu.Lock()
	for _, p := range srvProblems {
		t.Error("server: " + p)
	}
	srvMu.Unlock()
	for _, e := range unknownErrs {
		t.Errorf("error of no documented kind: %s", e)
	}
	if n := sigFail.Load(); n != 0 {
		t.Errorf("%d signatures failed verification with a key that was current when signed", n)
	}
	if n := sigRemovedKey.Load(); n != 0 {
		t.Errorf("%d signatures made with a key removed %v after it was rotated out", n, keyGrace)
	}
	// A token that reached the server more than tokenSkew past its
	// expiry was sent expired when its call took less than half the skew
	// (it was already expired when the call began), or when the call
	// began after the expiry; a call slower than that on a loaded machine
	// (16 workers, -race, mTLS handshakes on 2 cores: whole calls of over
	// a second) may have carried it out valid, and is only logged.
	expired := 0
	lateUse.Range(func(id, v any) bool {
		l := v.(lateToken)
		ct, ok := callAt.Load(id)
		if !ok {
			t.Errorf("call %v: token %s used %v after issue, call not recorded", id, l.tok, l.age)
			return true
		}
		c := ct.(callTimes)
		if took := c.end.Sub(c.begin); took < tokenSkew/2 || c.begin.Sub(l.issued) > lifetime {
			expired++
			t.Errorf("call %v: token %s used %v after issue (call began %v after issue, took %v)", id, l.tok, l.age, c.begin.Sub(l.issued), took)
		} else {
			t.Logf("call %v: token %s reached the server %v after issue, within a call of %v begun %v after issue", id, l.tok, l.age, took, c.begin.Sub(l.issued))
		}
		return true
	})
	if u := tokUnknown.Load(); u != 0 || expired != 0 {
		t.Errorf("server saw %d unknown and %d expired tokens (%d past the skew in all)", u, expired, tokExpired.Load())
	}
	if n := certBad.Load(); n != 0 {
		t.Errorf("server saw %d requests with a client certificate never issued", n)
	}
	if got := statuses[http.StatusOK]; int64(got) != total.Load() {
		t.Errorf("%d of %d calls answered 200 (statuses %v, errors %v)", got, total.Load(), statuses, errKinds)
	}
	// Refreshes start no earlier than half a token's lifetime before its
	// serving ends (at 9/10 of it), so one fetch per 0.4 lifetime at most,
	// plus the first and slack; one per call would be thousands.
	if limit := int64(elapsed/(lifetime*4/10)) + 3; tokenFetches.Load() > limit {
		t.Errorf("token endpoint hit %d times in %v, want at most %d", tokenFetches.Load(), elapsed, limit)
	}
	if tokenFetches.Load() < 2 {
		t.Errorf("token endpoint hit %d times in %v with %v tokens: no refresh", tokenFetches.Load(), elapsed, lifetime)
	}

	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	c.HTTPClient().CloseIdleConnections()
	apiSrv.CloseClientConnections()
	tokenSrv.CloseClientConnections()
	var n int
	for range 1000 { // up to 10 s: a loaded machine runs exiting goroutines late
		if n = runtime.NumGoroutine(); n <= baseline {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n > baseline {
		buf := make([]byte, 1<<20)
		stacks := strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n")
		slices.Sort(stacks)
		t.Errorf("%d goroutines after Close, %d before New:\n%s", n, baseline, strings.Join(stacks, "\n\n"))
	}
}

// lateToken is a token that reached TestStressConcurrentRotation's server
// more than its skew past its expiry.
type lateToken struct {
	tok    string
	issued time.Time
	age    time.Duration
}

// callTimes is when one of TestStressConcurrentRotation's calls began and
// returned.
type callTimes struct{ begin, end time.Time }
