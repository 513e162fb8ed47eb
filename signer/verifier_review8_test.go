package signer

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// manyComponents returns a Signature-Input member list of n distinct
// header-field components, each a few bytes long.
func manyComponents(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(`"x` + strconv.Itoa(i) + `"`)
	}
	return b.String()
}

// TestVerifyBoundsComponentsPerSignature: an unauthenticated request could
// put a hundred thousand components in one Signature-Input member within
// net/http's 1 MiB header limit. The duplicate check compared every pair
// (seconds to minutes of CPU per request, before any key lookup), and once
// the keyid was known, building the base scanned the query or re-parsed a
// Dictionary field once per component. A member with too many components
// must be refused as malformed before its key is looked up; an ordinary
// number is still accepted.
func TestVerifyBoundsComponentsPerSignature(t *testing.T) {
	in := "sig1=(" + manyComponents(10_000) + `);created=1;keyid="k";nonce="n"`
	if _, err := ParseSignatureInput(in); !errors.Is(err, ErrMalformed) {
		t.Errorf("ParseSignatureInput(10000 components) = %v; want ErrMalformed", err)
	}
	if _, err := ParseSignatureInput("sig1=(" + manyComponents(32) + `);created=1`); err != nil {
		t.Errorf("ParseSignatureInput(32 components) = %v", err)
	}

	k := testKey(t, "k")
	keys := &countingLookup{KeyLookup: StaticKey(k)}
	v := newTestVerifier(t, VerifierOptions{Keys: keys, Required: []Component{}})
	r := httptest.NewRequest("GET", "https://api.example.com/", nil)
	r.Header.Set("Signature-Input", in)
	r.Header.Set("Signature", "sig1=:"+strings.Repeat("A", 43)+"=:")
	if _, err := v.Verify(r, t0); !errors.Is(err, ErrMalformed) {
		t.Errorf("Verify = %v; want ErrMalformed", err)
	}
	if keys.n != 0 {
		t.Errorf("%d key lookups for a member with 10000 components; want none", keys.n)
	}
}

// TestConfigRefusesMoreThanMaxComponents: a signer configured to cover more
// components than a verifier accepts would sign requests every verifier
// refuses, and a verifier requiring more could accept nothing.
func TestConfigRefusesMoreThanMaxComponents(t *testing.T) {
	comps := make([]Component, MaxComponents+1)
	for i := range comps {
		comps[i] = Field("x" + strconv.Itoa(i))
	}
	var ce *ConfigError
	if _, err := New(Options{Keys: StaticKey(testKey(t, "k")), Components: comps}); !errors.As(err, &ce) || ce.Option != "Options.Components" {
		t.Errorf("New = %v; want a *ConfigError for Options.Components", err)
	}
	if _, err := NewVerifier(VerifierOptions{Keys: StaticKey(testKey(t, "k")), Required: comps}); !errors.As(err, &ce) || ce.Option != "VerifierOptions.Required" {
		t.Errorf("NewVerifier = %v; want a *ConfigError for VerifierOptions.Required", err)
	}
	if _, err := New(Options{Keys: StaticKey(testKey(t, "k")), Components: comps[:MaxComponents]}); err != nil {
		t.Errorf("New(MaxComponents components) = %v", err)
	}
}

// TestVerifyMaxBytesReaderIsBodyTooLarge: a server commonly caps bodies with
// http.MaxBytesReader (or http.MaxBytesHandler) in front of the verifier.
// A signed body over that cap made Verify return the read error as the
// VerifyError's Err, which is none of the sentinels: errors.Is(err,
// ErrBodyTooLarge) was false and DefaultErrorHandler answered 401, telling
// a correctly signing client its signature was wrong instead of 413.
func TestVerifyMaxBytesReaderIsBodyTooLarge(t *testing.T) {
	k := testKey(t, "k")
	s := mustSigner(t, Options{Keys: StaticKey(k)})
	r := serverView(t, signed(t, s, "POST", "https://api.example.com/orders", `{"item":42,"note":"long enough"}`, t0))
	r.Body = http.MaxBytesReader(nil, r.Body, 8)
	v := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k)})
	_, err := v.Verify(r, t0)
	var mbe *http.MaxBytesError
	if !errors.Is(err, ErrBodyTooLarge) || !errors.As(err, &mbe) {
		t.Fatalf("Verify = %v; want ErrBodyTooLarge wrapping the *http.MaxBytesError", err)
	}
	w := httptest.NewRecorder()
	DefaultErrorHandler(w, r, err)
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("DefaultErrorHandler: %d, want 413", w.Code)
	}
}

// flakyLookup fails with a backend error for the key id down while down
// is set, and otherwise answers from KeyLookup.
type flakyLookup struct {
	KeyLookup
	down string
	off  bool
}

func (f *flakyLookup) LookupKey(ctx context.Context, id string) (*Key, error) {
	if !f.off && id == f.down {
		return nil, errors.New("key database timeout")
	}
	return f.KeyLookup.LookupKey(ctx, id)
}

// TestVerifyOtherSignatureLookupFailureFailsClosed: Verify claims the
// nonces of a request's other signatures that would be accepted on their
// own, so that no copy stripped down to one of them is accepted again. When
// the key lookup of another signature failed (a backend error, not an
// unknown key), that signature was silently taken for one that would not
// be accepted and its nonce was not claimed: once the backend recovered, a
// captured copy stripped down to it was accepted a second time. Verify
// must not accept a request whose other signatures it could not judge.
func TestVerifyOtherSignatureLookupFailureFailsClosed(t *testing.T) {
	oldKey, newKey := testKey(t, "old"), testKey(t, "new")
	ks, err := NewKeySet(newKey, oldKey)
	if err != nil {
		t.Fatal(err)
	}
	keys := &flakyLookup{KeyLookup: ks, down: "old"}
	req := httptest.NewRequest("GET", "https://api.example.com/pay?amount=5", nil)
	for i, k := range []*Key{newKey, oldKey} {
		s := mustSigner(t, Options{Keys: StaticKey(k), Label: "sig" + strconv.Itoa(i+1)})
		if err := s.Sign(context.Background(), req, t0); err != nil {
			t.Fatal(err)
		}
	}
	v := newTestVerifier(t, VerifierOptions{Keys: keys})
	res, err := v.Verify(req.Clone(context.Background()), t0)
	if err == nil {
		// Accepted: then the other signature's nonce must be claimed.
		keys.off = true
		if res2, err := v.Verify(onlyLabel(t, req, "sig2", "sig2"), t0.Add(time.Second)); !errors.Is(err, ErrReplay) {
			t.Fatalf("accepted %s with the other signature unjudged; a copy stripped down to it then gave %+v, %v; want ErrReplay", res.Label, res2, err)
		}
		return
	}
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Verify = %+v, %v; want ErrUnavailable", res, err)
	}
}
