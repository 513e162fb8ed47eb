package signer

import (
	"bufio"
	"encoding/base64"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestNewVerifierRefusesWindowOverflow: MaxAge and ClockSkew are added to
// each other (and to created) to bound created and to say how long a nonce
// is remembered. With MaxAge = math.MaxInt64 ("no limit") and ClockSkew =
// 1 (the documented "none") the sum wraps to math.MinInt64: every created
// passed the age check and every nonce was remembered until a time 292
// years in the past, that is not at all, so one signed request could be
// replayed without end. Such a window must be a *ConfigError.
func TestNewVerifierRefusesWindowOverflow(t *testing.T) {
	ks := StaticKey(testKey(t, "k"))
	for _, o := range []VerifierOptions{
		{Keys: ks, MaxAge: math.MaxInt64, ClockSkew: 1},
		{Keys: ks, MaxAge: math.MaxInt64},
		{Keys: ks, ClockSkew: math.MaxInt64},
		{Keys: ks, MaxAge: math.MaxInt64 / 2, ClockSkew: math.MaxInt64 / 3},
	} {
		v, err := NewVerifier(o)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Option != "VerifierOptions.MaxAge" {
			t.Errorf("NewVerifier(MaxAge %v, ClockSkew %v) = %v, %v; want a *ConfigError for VerifierOptions.MaxAge", o.MaxAge, o.ClockSkew, v, err)
			continue
		}
	}
	// The largest window that does not overflow is accepted.
	if _, err := NewVerifier(VerifierOptions{Keys: ks, MaxAge: math.MaxInt64 - 2, ClockSkew: 1}); err != nil {
		t.Fatal(err)
	}
	// A long window that does not overflow keeps refusing replays.
	k := testKey(t, "k")
	v, err := NewVerifier(VerifierOptions{Keys: StaticKey(k), MaxAge: 100 * 365 * 24 * time.Hour, ClockSkew: 1})
	if err != nil {
		t.Fatal(err)
	}
	s := mustSigner(t, Options{Keys: StaticKey(k)})
	req := signed(t, s, "GET", "https://api.example.com/x", "", t0)
	if _, err := v.Verify(serverView(t, req), t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(serverView(t, req), t0.Add(2*time.Second)); !errors.Is(err, ErrReplay) {
		t.Fatalf("replay: %v; want ErrReplay", err)
	}
}

// TestMemoryNonceStoreUntilBeyondUnixNano: until is kept in Unix
// nanoseconds, which end in 2262. A later until (a verifier with a MaxAge of
// centuries) wrapped to a negative number, was taken for "already outside
// its window" and not remembered: the nonce could be replayed.
func TestMemoryNonceStoreUntilBeyondUnixNano(t *testing.T) {
	// A retention as long as a time.Duration holds (292 years): a store
	// keeping nonces that far ahead.
	s, err := NewMemoryNonceStoreWithOptions(MemoryNonceOptions{Capacity: 4, MaxRetention: math.MaxInt64})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	far := time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := s.Claim(ctx, "k", "n", t0, far); err != nil {
		t.Fatal(err)
	}
	if err := s.Claim(ctx, "k", "n", t0.Add(time.Hour), far); !errors.Is(err, ErrReplay) {
		t.Fatalf("second claim = %v; want ErrReplay", err)
	}
	if n := s.Len(); n != 1 {
		t.Fatalf("Len = %d; want 1", n)
	}
}

// TestVerifyPathAsReceived: RFC 9421 §2.2.6 signs the path "before
// decoding any percent-encoded octets", as it was sent. Clients that follow
// the WHATWG URL standard (browsers, Node, curl) send characters such as
// '|', '^' or '{' unescaped; net/http parses them and URL.EscapedPath
// re-escapes them ("/a%7Cb"), so the verifier rebuilt a @path and
// @target-uri the client never signed and refused its valid signatures.
// The path must be taken from the request target as received.
func TestVerifyPathAsReceived(t *testing.T) {
	k := testKey(t, "k")
	v := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k), Required: []Component{Path}})
	created := strconv.FormatInt(t0.Unix(), 10)
	for i, tc := range []struct{ target, path, uri string }{
		{"/a|b", "/a|b", "http://example.com/a|b"},
		{"/a{b}?x=^", "/a{b}", "http://example.com/a{b}?x=^"},
		{"/a^b/%7Cc?", "/a^b/%7Cc", "http://example.com/a^b/%7Cc?"},
		{"http://example.com/p|q?x", "/p|q", "http://example.com/p|q?x"},
		{"http://example.com", "/", "http://example.com/"},
	} {
		params := `("@path" "@target-uri");created=` + created + `;nonce="n` + strconv.Itoa(i) + `";keyid="k"`
		base := `"@path": ` + tc.path + "\n" + `"@target-uri": ` + tc.uri + "\n" + `"@signature-params": ` + params
		sig, err := k.sign(nil, []byte(base))
		if err != nil {
			t.Fatal(err)
		}
		raw := "GET " + tc.target + " HTTP/1.1\r\nHost: example.com\r\n" +
			"Signature-Input: sig1=" + params + "\r\n" +
			"Signature: sig1=:" + base64.StdEncoding.EncodeToString(sig) + ":\r\n\r\n"
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(r, t0); err != nil {
			t.Errorf("%s: %v", tc.target, err)
		}
	}
}

// TestVerifyPathRewrittenBeforeVerifier: when a handler in front of the
// verifier rewrote the URL (http.StripPrefix), the path verified is the
// one the handler will act on, not the one on the wire.
func TestVerifyPathRewrittenBeforeVerifier(t *testing.T) {
	k := testKey(t, "k")
	s := mustSigner(t, Options{Keys: StaticKey(k)})
	v := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k)})
	req := signed(t, s, "GET", "https://api.example.com/api/pay", "", t0)
	var got error
	h := http.StripPrefix("/api", http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		_, got = v.Verify(r, t0)
	}))
	h.ServeHTTP(httptest.NewRecorder(), serverView(t, req))
	if !errors.Is(got, ErrInvalidSignature) {
		t.Fatalf("Verify after StripPrefix = %v; want ErrInvalidSignature", got)
	}
}
