package transport_test

import (
	"crypto/tls"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/securecall/securecall/transport"
)

// helloRecorder records the ClientHello of every handshake a pkiServer
// sees.
type helloRecorder struct {
	mu     sync.Mutex
	hellos []*tls.ClientHelloInfo
}

func (r *helloRecorder) mod(c *tls.Config) {
	c.GetConfigForClient = func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.hellos = append(r.hellos, h)
		return nil, nil
	}
}

func (r *helloRecorder) last(t *testing.T) *tls.ClientHelloInfo {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.hellos) == 0 {
		t.Fatal("no handshake reached the server")
	}
	return r.hellos[len(r.hellos)-1]
}

// NewBase cloned TLSConfig with tls.Config.Clone, which is shallow: the
// Base shared NextProtos with the caller's config, so a caller rewriting
// its ALPN list in place after NewBase (for its next Base) changed the
// protocols an existing Base offered, behind the HTTP/1.1-only choice
// NewBase had made from the list: the server picked h2 and every call
// failed.
func TestBaseNextProtosCopiedAtNewBase(t *testing.T) {
	w := newPKIWorld(t)
	srv := pkiServer(t, w.leaf.TLS, true, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		io.WriteString(rw, r.Proto)
	}), nil)
	cfg := &tls.Config{NextProtos: []string{"http/1.1"}}
	b := pkiBase(t, transport.BaseConfig{TLSConfig: cfg}, srv, w.ca)
	cfg.NextProtos[0] = "h2" // the caller's next Base: HTTP/2 only

	_, body, err := pkiGet(t, b, "https://api.example.test/")
	if err != nil {
		t.Fatalf("GET: %v (the Base offered the caller's new ALPN list)", err)
	}
	if body != "HTTP/1.1" {
		t.Fatalf("the server saw %s, want HTTP/1.1 (asked at NewBase)", body)
	}
}

// The Base shared CipherSuites with the caller's config: NewBase refuses an
// insecure suite (ErrInsecureTLS), but one written into the caller's slice
// after NewBase was offered at the next handshake.
func TestBaseCipherSuitesCopiedAtNewBase(t *testing.T) {
	w := newPKIWorld(t)
	var rec helloRecorder
	srv := pkiServer(t, w.leaf.TLS, false, nil, rec.mod)
	secure := []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}
	cfg := &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: slices.Clone(secure)}
	b := pkiBase(t, transport.BaseConfig{TLSConfig: cfg}, srv, w.ca)
	cfg.CipherSuites[0] = tls.TLS_ECDHE_ECDSA_WITH_RC4_128_SHA
	cfg.CipherSuites[1] = tls.TLS_ECDHE_RSA_WITH_RC4_128_SHA

	_, _, _ = pkiGet(t, b, "https://api.example.test/")
	if got := rec.last(t).CipherSuites; !slices.Equal(got, secure) {
		t.Fatalf("offered cipher suites %#04x, want %#04x (checked at NewBase)", got, secure)
	}
}

// The Base shared CurvePreferences with the caller's config: a curve
// written into the caller's slice after NewBase was offered at the next
// handshake.
func TestBaseCurvePreferencesCopiedAtNewBase(t *testing.T) {
	w := newPKIWorld(t)
	var rec helloRecorder
	srv := pkiServer(t, w.leaf.TLS, false, nil, rec.mod)
	want := []tls.CurveID{tls.CurveP256, tls.CurveP384}
	cfg := &tls.Config{CurvePreferences: slices.Clone(want)}
	b := pkiBase(t, transport.BaseConfig{TLSConfig: cfg}, srv, w.ca)
	cfg.CurvePreferences[1] = tls.CurveP521

	if _, _, err := pkiGet(t, b, "https://api.example.test/"); err != nil {
		t.Fatal(err)
	}
	if got := rec.last(t).SupportedCurves; !slices.Equal(got, want) {
		t.Fatalf("offered curves %v, want %v (given at NewBase)", got, want)
	}
}
