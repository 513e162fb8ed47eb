package signer

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dunglas/httpsfv"
)

// TestVerifyBodyErrorNotForgottenBySecondLabel: a captured signature over
// the Content-Digest of an empty body, presented twice under two labels
// (the label is not signed) with a body larger than MaxBodySize attached.
// The first label fails with ErrBodyTooLarge; the second must fail the same
// way, not check the digest against an empty buffer and accept the
// unverified body.
func TestVerifyBodyErrorNotForgottenBySecondLabel(t *testing.T) {
	k, req := emptyDigestUnderTwoLabels(t)
	for _, chunked := range []bool{false, true} {
		t.Run("chunked="+strconv.FormatBool(chunked), func(t *testing.T) {
			v := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k), MaxBodySize: 8})
			r := req.Clone(context.Background())
			evil := `{"amount":1000000}`
			r.Body = io.NopCloser(strings.NewReader(evil))
			r.ContentLength = int64(len(evil))
			if chunked {
				r.ContentLength = -1
			}
			res, err := v.Verify(r, t0)
			if !errors.Is(err, ErrBodyTooLarge) {
				t.Fatalf("Verify = %+v, %v; want ErrBodyTooLarge", res, err)
			}
		})
	}
}

type failingBody struct{ n int }

func (b *failingBody) Read(p []byte) (int, error) {
	if b.n > 0 {
		b.n--
		p[0] = 'x'
		return 1, nil
	}
	return 0, errors.New("connection reset")
}
func (*failingBody) Close() error { return nil }

// TestVerifyBodyReadErrorNotForgottenBySecondLabel: the same with a body
// whose read fails: no later label may be checked against an empty buffer.
func TestVerifyBodyReadErrorNotForgottenBySecondLabel(t *testing.T) {
	k, req := emptyDigestUnderTwoLabels(t)
	req.Body = &failingBody{n: 3}
	req.ContentLength = -1
	v := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k)})
	if res, err := v.Verify(req, t0); err == nil {
		t.Fatalf("Verify accepted %+v after the body read failed", res)
	}
}

type countingLookup struct {
	KeyLookup
	n int
}

func (c *countingLookup) LookupKey(ctx context.Context, id string) (*Key, error) {
	c.n++
	return c.KeyLookup.LookupKey(ctx, id)
}

// TestVerifyBoundsSignaturesTried: an unsigned request can carry thousands
// of labels in one header block; each costs a key lookup and a signature
// check (an Ed25519 verification, or a remote KeyLookup). The verifier must
// not do that work for every one of them.
func TestVerifyBoundsSignaturesTried(t *testing.T) {
	k := testEdKey(t, "k")
	keys := &countingLookup{KeyLookup: StaticKey(k.Public())}
	v := newTestVerifier(t, VerifierOptions{Keys: keys})
	var in, sg strings.Builder
	const n = 1000
	for i := range n {
		if i > 0 {
			in.WriteString(", ")
			sg.WriteString(", ")
		}
		in.WriteString("s" + strconv.Itoa(i) + `=("@method" "@authority" "@path" "@query");created=` + strconv.FormatInt(t0.Unix(), 10) + `;keyid="k";nonce="n` + strconv.Itoa(i) + `"`)
		sg.WriteString("s" + strconv.Itoa(i) + "=:" + strings.Repeat("A", 86) + "==:")
	}
	r := httptest.NewRequest("GET", "https://api.example.com/", nil)
	r.Header.Set("Signature-Input", in.String())
	r.Header.Set("Signature", sg.String())
	if _, err := v.Verify(r, t0); err == nil {
		t.Fatal("accepted")
	}
	if keys.n > MaxSignatures {
		t.Errorf("%d key lookups for one request, want at most MaxSignatures (%d)", keys.n, MaxSignatures)
	}
}

// TestVerifyAcceptsSeveralSignatures: a few signatures (a client's and a
// proxy's, say) are still tried in order.
func TestVerifyAcceptsSeveralSignatures(t *testing.T) {
	k := testKey(t, "k")
	other := testKey(t, "other")
	v := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k)})
	req := httptest.NewRequest("GET", "https://api.example.com/", nil)
	for i, key := range []*Key{other, other, k} {
		s := mustSigner(t, Options{Keys: StaticKey(key), Label: "sig" + strconv.Itoa(i)})
		if err := s.Sign(context.Background(), req, t0); err != nil {
			t.Fatal(err)
		}
	}
	res, err := v.Verify(req, t0)
	if err != nil || res.Label != "sig2" {
		t.Fatalf("Verify = %+v, %v", res, err)
	}
}

// TestStructuredFieldsCopied: New and NewVerifier copy KeyIDs and Required;
// the StructuredFields map must be copied too, or a caller reusing its map
// changes (and races with) a Signer or Verifier documented as safe for
// concurrent use.
func TestStructuredFieldsCopied(t *testing.T) {
	k := testKey(t, "k")
	types := map[string]FieldType{"x-list": SFList}
	comps := []Component{Method, FieldSF("x-list")}
	s := mustSigner(t, Options{Keys: StaticKey(k), Components: comps, StructuredFields: types})
	v := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k), Required: comps, StructuredFields: types})
	delete(types, "x-list")

	req := httptest.NewRequest("GET", "https://api.example.com/", nil)
	req.Header.Set("X-List", "a,   b")
	if err := s.Sign(context.Background(), req, t0); err != nil {
		t.Fatalf("Sign after the caller changed its map: %v", err)
	}
	if _, err := v.Verify(req, t0); err != nil {
		t.Fatalf("Verify after the caller changed its map: %v", err)
	}
}

// onlyLabel returns a copy of req carrying only the signature under label
// from, renamed to label to (labels are not signed).
func onlyLabel(t *testing.T, req *http.Request, from, to string) *http.Request {
	t.Helper()
	ins, err := httpsfv.UnmarshalDictionary(req.Header.Values("Signature-Input"))
	if err != nil {
		t.Fatal(err)
	}
	sigs, err := httpsfv.UnmarshalDictionary(req.Header.Values("Signature"))
	if err != nil {
		t.Fatal(err)
	}
	in, _ := ins.Get(from)
	sg, _ := sigs.Get(from)
	ni, ns := httpsfv.NewDictionary(), httpsfv.NewDictionary()
	ni.Add(to, in)
	ns.Add(to, sg)
	out := req.Clone(context.Background())
	vi, _ := httpsfv.Marshal(ni)
	vs, _ := httpsfv.Marshal(ns)
	out.Header.Set("Signature-Input", vi)
	out.Header.Set("Signature", vs)
	return out
}

// TestVerifyReplayOfSecondSignature: a request signed twice with keys the
// verifier accepts (a client signing with the old and the new key during a
// rotation, RFC 9421 §4.3) was accepted once per signature: Verify claimed
// only the nonce of the signature it accepted, so a captured copy stripped
// down to the other signature (renamed to the verifier's Label if it has
// one: labels are not signed) was accepted again.
func TestVerifyReplayOfSecondSignature(t *testing.T) {
	oldKey, newKey := testKey(t, "old"), testKey(t, "new")
	keys, err := NewKeySet(newKey, oldKey)
	if err != nil {
		t.Fatal(err)
	}
	sign := func() *http.Request {
		req := httptest.NewRequest("GET", "https://api.example.com/pay?amount=5", nil)
		for i, k := range []*Key{newKey, oldKey} {
			s := mustSigner(t, Options{Keys: StaticKey(k), Label: "sig" + strconv.Itoa(i+1)})
			if err := s.Sign(context.Background(), req, t0); err != nil {
				t.Fatal(err)
			}
		}
		return req
	}
	for _, label := range []string{"", "sig1"} {
		t.Run("label="+label, func(t *testing.T) {
			v := newTestVerifier(t, VerifierOptions{Keys: keys, Label: label})
			req := sign()
			res, err := v.Verify(req.Clone(context.Background()), t0)
			if err != nil || res.Label != "sig1" {
				t.Fatalf("first delivery: %+v, %v", res, err)
			}
			replay := onlyLabel(t, req, "sig2", "sig1")
			if res, err := v.Verify(replay, t0.Add(time.Second)); !errors.Is(err, ErrReplay) {
				t.Fatalf("replay under the other signature: %+v, %v; want ErrReplay", res, err)
			}
		})
	}
}

// TestVerifySameNonceInTwoSignaturesIsNotAReplay: a client that signs one
// request twice with the same key and one nonce per request (two labels
// covering different components, for two hops) sends a fresh request, not
// a replay. Claiming the other signatures' nonces (claimAll) must not claim
// the accepted signature's (keyid, nonce) a second time and refuse the
// request's first delivery as ErrReplay.
func TestVerifySameNonceInTwoSignaturesIsNotAReplay(t *testing.T) {
	k := testKey(t, "k")
	nonce := bytes.Repeat([]byte{7}, DefaultNonceSize)
	req := httptest.NewRequest("GET", "https://api.example.com/pay?amount=5", nil)
	req.Header.Set("X-Request-Id", "r-1")
	for i, comps := range [][]Component{{Method, Authority, Path, Query}, {Method, Authority, Path, Query, Field("x-request-id")}} {
		s := mustSigner(t, Options{Keys: StaticKey(k), Label: "sig" + strconv.Itoa(i+1), Components: comps,
			Nonce: bytes.NewReader(nonce)})
		if err := s.Sign(context.Background(), req, t0); err != nil {
			t.Fatal(err)
		}
	}
	v := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k)})
	if res, err := v.Verify(req.Clone(context.Background()), t0); err != nil {
		t.Fatalf("first delivery: %+v, %v", res, err)
	}
	if _, err := v.Verify(req.Clone(context.Background()), t0); !errors.Is(err, ErrReplay) {
		t.Fatalf("second delivery: %v, want ErrReplay", err)
	}
	if _, err := v.Verify(onlyLabel(t, req, "sig2", "sig2"), t0); !errors.Is(err, ErrReplay) {
		t.Fatalf("replay under the other signature: %v, want ErrReplay", err)
	}
}

// TestVerifySharedNonceHeldForTheLongestWindow: when two signatures of one
// request share a (keyid, nonce) pair, the pair is claimed once, but for as
// long as any of them can still be verified. Claimed only until the end of
// the accepted signature's shorter window (its expires), the nonce was
// forgotten while the other signature was still valid, and a copy of the
// request stripped down to that signature was accepted a second time.
func TestVerifySharedNonceHeldForTheLongestWindow(t *testing.T) {
	k := testKey(t, "k")
	nonce := bytes.Repeat([]byte{9}, DefaultNonceSize)
	req := httptest.NewRequest("GET", "https://api.example.com/pay?amount=5", nil)
	req.Header.Set("X-Request-Id", "r-1")
	for i, o := range []Options{
		{Label: "sig1", Expires: 5 * time.Second, Components: []Component{Method, Authority, Path, Query}},
		{Label: "sig2", Components: []Component{Method, Authority, Path, Query, Field("x-request-id")}},
	} {
		o.Keys, o.Nonce = StaticKey(k), bytes.NewReader(nonce)
		if err := mustSigner(t, o).Sign(context.Background(), req, t0); err != nil {
			t.Fatalf("signature %d: %v", i+1, err)
		}
	}
	v := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k)})
	if res, err := v.Verify(req.Clone(context.Background()), t0); err != nil || res.Label != "sig1" {
		t.Fatalf("first delivery: %+v, %v; want sig1 accepted", res, err)
	}
	// sig1 has expired (5 s + 30 s skew); sig2 is valid for 60 s + 30 s.
	later := t0.Add(45 * time.Second)
	if _, err := v.Verify(onlyLabel(t, req, "sig1", "sig1"), later); !errors.Is(err, ErrExpired) {
		t.Fatalf("sig1 at +45s: %v, want ErrExpired", err)
	}
	if res, err := v.Verify(onlyLabel(t, req, "sig2", "sig2"), later); !errors.Is(err, ErrReplay) {
		t.Fatalf("replay under sig2 at +45s: %+v, %v; want ErrReplay", res, err)
	}
}

// emptyDigestUnderTwoLabels returns a POST signed (by the key it also
// returns) over the Content-Digest of empty content, its signature copied
// under a second label as an attacker could: labels are not signed.
func emptyDigestUnderTwoLabels(t *testing.T) (*Key, *http.Request) {
	t.Helper()
	k := testKey(t, "k")
	s := mustSigner(t, Options{Keys: StaticKey(k), Components: []Component{Method, Authority, Path, Query, Field("content-digest")}})
	empty, err := ContentDigest(strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("POST", "https://api.example.com/pay", nil)
	req.Header.Set("Content-Digest", empty)
	if err := s.Sign(context.Background(), req, t0); err != nil {
		t.Fatal(err)
	}
	in, sig := req.Header.Get("Signature-Input"), req.Header.Get("Signature")
	req.Header.Set("Signature-Input", in+", "+strings.Replace(in, "sig1=", "sig2=", 1))
	req.Header.Set("Signature", sig+", "+strings.Replace(sig, "sig1=", "sig2=", 1))
	return k, req
}
