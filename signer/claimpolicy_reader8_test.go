package signer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// junkSig adds to req a signature labelled label whose Signature-Input
// member is `label=(<components>)<params>` and whose signature is 32 bytes
// of zeros: no MAC verifies it.
func junkSig(req *http.Request, label, components, params string) {
	req.Header.Add("Signature-Input", label+"=("+components+")"+params)
	req.Header.Add("Signature", label+"=:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:")
}

const junkComponents = `"@method" "@authority" "@path" "@query"`

func junkParams(created time.Time, keyID, nonce string) string {
	return ";created=" + strconv.FormatInt(created.Unix(), 10) + `;keyid="` + keyID + `";nonce="` + nonce + `"`
}

// downLookup8 answers "down" with an error that is not ErrUnknownKey.
type downLookup8 struct{ KeyLookup }

func (f downLookup8) LookupKey(ctx context.Context, id string) (*Key, error) {
	if id == "down" {
		return nil, errors.New("backend down")
	}
	return f.KeyLookup.LookupKey(ctx, id)
}

// aliasLookup8 answers "alias" with the key of id "a".
type aliasLookup8 struct{ KeyLookup }

func (o aliasLookup8) LookupKey(ctx context.Context, id string) (*Key, error) {
	if id == "alias" {
		return o.KeyLookup.LookupKey(ctx, "a")
	}
	return o.KeyLookup.LookupKey(ctx, id)
}

func signedGET(t *testing.T, k *Key, label string) *http.Request {
	t.Helper()
	req, err := http.NewRequest("GET", "https://api.example.com/orders?id=7", nil)
	if err != nil {
		t.Fatal(err)
	}
	s := mustSigner(t, Options{Keys: StaticKey(k), Label: label, Tag: "app"})
	if err := s.Sign(context.Background(), req, t0); err != nil {
		t.Fatal(err)
	}
	return req
}

// TestClaimOnlyPolicyPassingOtherSignatures (item 1): another signature
// whose MAC fails is claimed beside the accepted one only when it passes
// every check of the policy; one failing any of them (key, KeyIDs, alg,
// coverage, tag, created, window, nonce, a Signature member) claims
// nothing, and one whose key lookup fails refuses the request.
func TestClaimOnlyPolicyPassingOtherSignatures(t *testing.T) {
	ka, kb := testKey(t, "a"), testKey(t, "b")
	ks, err := NewKeySet(ka, kb, testKey(t, "c"))
	if err != nil {
		t.Fatal(err)
	}
	fresh := junkParams(t0, "b", "junk") + `;tag="app"`
	for _, tc := range []struct {
		name       string
		components string
		params     string
		noSig      bool
		want       int // nonces held after the request
		wantErr    error
	}{
		{name: "passes the policy", components: junkComponents, params: fresh, want: 2},
		{name: "passes the policy, created ahead", components: junkComponents,
			params: junkParams(t0.Add(2*DefaultClockSkew), "b", "junk") + `;tag="app"`, want: 2},
		{name: "passes the policy, another label's alg", components: junkComponents, params: fresh + `;alg="hmac-sha256"`, want: 2},
		{name: "no keyid", components: junkComponents, params: `;created=` + strconv.FormatInt(t0.Unix(), 10) + `;nonce="junk";tag="app"`, want: 1},
		{name: "unknown key", components: junkComponents, params: junkParams(t0, "zz", "junk") + `;tag="app"`, want: 1},
		{name: "key not in KeyIDs", components: junkComponents, params: junkParams(t0, "c", "junk") + `;tag="app"`, want: 1},
		{name: "lookup answers another id", components: junkComponents, params: junkParams(t0, "alias", "junk") + `;tag="app"`, want: 1},
		{name: "alg mismatch", components: junkComponents, params: fresh + `;alg="ed25519"`, want: 1},
		{name: "required component missing", components: `"@method" "@authority" "@path"`, params: fresh, want: 1},
		{name: "no components", components: ``, params: fresh, want: 1},
		{name: "no tag", components: junkComponents, params: junkParams(t0, "b", "junk"), want: 1},
		{name: "other tag", components: junkComponents, params: junkParams(t0, "b", "junk") + `;tag="other"`, want: 1},
		{name: "no created", components: junkComponents, params: `;keyid="b";nonce="junk";tag="app"`, want: 1},
		{name: "stale", components: junkComponents, params: junkParams(t0.Add(-DefaultMaxAge-DefaultClockSkew-time.Second), "b", "junk") + `;tag="app"`, want: 1},
		{name: "expired", components: junkComponents, params: fresh + ";expires=" + strconv.FormatInt(t0.Add(-DefaultClockSkew-time.Second).Unix(), 10), want: 1},
		{name: "expires before created", components: junkComponents, params: fresh + ";expires=" + strconv.FormatInt(t0.Add(-time.Second).Unix(), 10), want: 1},
		{name: "no nonce", components: junkComponents, params: `;created=` + strconv.FormatInt(t0.Unix(), 10) + `;keyid="b";tag="app"`, want: 1},
		{name: "nonce too long", components: junkComponents, params: junkParams(t0, "b", strings.Repeat("n", MaxNonceLength+1)) + `;tag="app"`, want: 1},
		{name: "unusable member", components: junkComponents, params: fresh + `;created2=1;created="x"`, want: 1},
		{name: "no Signature member", components: junkComponents, params: fresh, noSig: true, want: 1},
		{name: "key lookup fails", components: junkComponents, params: junkParams(t0, "down", "junk") + `;tag="app"`, want: 0, wantErr: ErrUnavailable},
		{name: "window too far ahead", components: junkComponents,
			params: junkParams(t0.Add(24*time.Hour), "b", "junk") + `;tag="app"`, want: 0, wantErr: ErrFuture},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := NewMemoryNonceStore(0)
			v := newTestVerifier(t, VerifierOptions{Keys: aliasLookup8{downLookup8{ks}}, Nonces: store, Tag: "app",
				KeyIDs: []string{"a", "b", "zz", "alias", "down"}})
			req := signedGET(t, ka, "sig1")
			if tc.noSig {
				req.Header.Add("Signature-Input", "sig2=("+tc.components+")"+tc.params)
			} else {
				junkSig(req, "sig2", tc.components, tc.params)
			}
			res, err := v.Verify(serverView(t, req), t0)
			switch {
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Verify = %+v, %v; want %v", res, err, tc.wantErr)
				}
			case err != nil || res.Label != "sig1":
				t.Fatalf("Verify = %+v, %v; want sig1 accepted", res, err)
			}
			if n := store.Len(); n != tc.want {
				t.Errorf("store holds %d nonces, want %d", n, tc.want)
			}
		})
	}
}

// TestClaimOtherSignatureBodyUnreadableStillRefused (item 2): another
// signature covering content-digest whose MAC verifies, on a request whose
// body cannot be read, still refuses the request (ErrBodyUnreadable,
// ErrBodyTooLarge), not claimed silently.
func TestClaimOtherSignatureBodyUnreadableStillRefused(t *testing.T) {
	ka, kb := testKey(t, "a"), testKey(t, "b")
	ks, err := NewKeySet(ka, kb)
	if err != nil {
		t.Fatal(err)
	}
	body := `{"a":1}`
	req, err := http.NewRequest("POST", "https://api.example.com/pay", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	sa := mustSigner(t, Options{Keys: StaticKey(ka), Label: "sig1", Components: DefaultRequired()})
	sb := mustSigner(t, Options{Keys: StaticKey(kb), Label: "sig2"}) // covers content-digest
	for _, s := range []*Signer{sa, sb} {
		if err := s.Sign(context.Background(), req, t0); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name    string
		body    io.Reader
		maxBody int64
		want    error
	}{
		{"unreadable", io.MultiReader(strings.NewReader(`{"a"`), resetReader8{}), 0, ErrBodyUnreadable},
		{"too large", strings.NewReader(body), 3, ErrBodyTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := NewMemoryNonceStore(0)
			v := newTestVerifier(t, VerifierOptions{Keys: ks, Nonces: store, AllowUnsignedBody: true, MaxBodySize: tc.maxBody})
			in := serverView(t, req)
			in.Body = io.NopCloser(tc.body)
			if res, err := v.Verify(in, t0); !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %+v, %v; want %v", res, err, tc.want)
			}
		})
	}
}

type resetReader8 struct{}

func (resetReader8) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

// TestClaimGrowthBound (item 3): a request with one valid signature and
// seven others under accepted keys passing the policy claims eight
// nonces; one with none valid claims none; others under unknown keys or
// refused by the policy claim nothing.
func TestClaimGrowthBound(t *testing.T) {
	ka, kb := testKey(t, "a"), testKey(t, "b")
	ks, err := NewKeySet(ka, kb)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		valid bool
		junk  func(i int) string
		n     int
		want  int
		err   error
	}{
		{"1 valid, 7 junk under accepted keys", true, func(i int) string { return junkParams(t0, "b", fmt.Sprint("j", i)) + `;tag="app"` }, 7, 8, nil},
		{"1 valid, 7 junk sharing one nonce", true, func(i int) string { return junkParams(t0, "b", "same") + `;tag="app"` }, 7, 2, nil},
		{"none valid, 8 junk", false, func(i int) string { return junkParams(t0, "b", fmt.Sprint("j", i)) + `;tag="app"` }, 8, 0, ErrInvalidSignature},
		{"1 valid, 7 junk under unknown keys", true, func(i int) string { return junkParams(t0, fmt.Sprint("u", i), "j") + `;tag="app"` }, 7, 1, nil},
		{"1 valid, 7 junk refused by the policy", true, func(i int) string { return junkParams(t0, "b", fmt.Sprint("j", i)) }, 7, 1, nil},
		{"1 valid, 8 junk", true, func(i int) string { return junkParams(t0, "b", fmt.Sprint("j", i)) + `;tag="app"` }, 8, 0, ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := NewMemoryNonceStore(0)
			v := newTestVerifier(t, VerifierOptions{Keys: ks, Nonces: store, Tag: "app"})
			var req *http.Request
			if tc.valid {
				req = signedGET(t, ka, "sig0")
			} else {
				req, _ = http.NewRequest("GET", "https://api.example.com/orders?id=7", nil)
			}
			for i := 0; i < tc.n; i++ {
				junkSig(req, fmt.Sprint("junk", i), junkComponents, tc.junk(i))
			}
			res, err := v.Verify(serverView(t, req), t0)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("Verify = %+v, %v; want %v", res, err, tc.err)
				}
			} else if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if n := store.Len(); n != tc.want {
				t.Errorf("store holds %d nonces, want %d", n, tc.want)
			}
		})
	}
}

// TestMiddlewareTwiceOtherSignatureFailingMACNotReclaimed (item 4): the
// outer pass of a twice- (and thrice-) wrapped Verifier claims the nonce of
// another signature that fails its MAC (or its digest) on this copy; the
// inner passes find it claimed by the outer one and do not refuse the
// request as a replay of itself, and the store holds each nonce once.
func TestMiddlewareTwiceOtherSignatureFailingMACNotReclaimed(t *testing.T) {
	ck, pk := testKey(t, "client"), testKey(t, "proxy")
	keys, err := NewKeySet(ck, pk)
	if err != nil {
		t.Fatal(err)
	}
	body := `{"a":1}`
	sign := func() *http.Request {
		req, err := http.NewRequest("POST", "https://api.example.com/pay?amount=5", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Order", "1")
		cs := mustSigner(t, Options{Keys: StaticKey(ck), Label: "sig1",
			Components: []Component{Method, Authority, Path, Query, Field("x-order"), Field("content-digest")}})
		ps := mustSigner(t, Options{Keys: StaticKey(pk), Label: "sig2", Components: DefaultRequired()})
		for _, s := range []*Signer{cs, ps} {
			if err := s.Sign(context.Background(), req, t0); err != nil {
				t.Fatal(err)
			}
		}
		junkSig(req, "sig3", junkComponents, junkParams(t0, "client", "junk3"))
		return req
	}
	for _, tc := range []struct {
		name  string
		alter func(*http.Request)
		wraps int
	}{
		{"header changed, twice", func(r *http.Request) { r.Header.Set("X-Order", "2") }, 2},
		{"header removed, thrice", func(r *http.Request) { r.Header.Del("X-Order") }, 3},
		{"body changed, twice", func(r *http.Request) {
			r.Body = io.NopCloser(strings.NewReader(`{"a":2}`))
		}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := NewMemoryNonceStore(0)
			var refused []error
			v := newTestVerifier(t, VerifierOptions{Keys: keys, Nonces: store, AllowUnsignedBody: true,
				Clock: func() time.Time { return t0 },
				ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
					refused = append(refused, err)
					DefaultErrorHandler(w, r, err)
				}})
			calls := 0
			var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls++
				if res, _ := ResultFromContext(r.Context()); res == nil || res.Label != "sig2" {
					t.Errorf("handler: %+v, want sig2", res)
				}
				w.WriteHeader(http.StatusNoContent)
			})
			for range tc.wraps {
				h = v.Middleware(h)
			}
			req := sign()
			in := serverView(t, req)
			tc.alter(in)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, in)
			if rec.Code != http.StatusNoContent || calls != 1 {
				t.Fatalf("altered copy: status %d, calls %d, refusals %v; want 204, 1 call", rec.Code, calls, refused)
			}
			if n := store.Len(); n != 3 {
				t.Errorf("store holds %d nonces, want 3", n)
			}
			rec = httptest.NewRecorder()
			h.ServeHTTP(rec, serverView(t, onlyLabel(t, req, "sig1", "sig1")))
			if rec.Code != http.StatusUnauthorized || calls != 1 || len(refused) != 1 || !errors.Is(refused[0], ErrReplay) {
				t.Fatalf("message as sent, stripped down to sig1: status %d, calls %d, refusals %v; want 401 ErrReplay", rec.Code, calls, refused)
			}
		})
	}
}
