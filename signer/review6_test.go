package signer

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestVerifyIgnoresUnusableMemberOfAnotherLabel: RFC 9421 §3.2 has the
// verifier choose the signature to process by its policy and only then
// parse that signature's parameters (step 4). A syntactically valid
// Signature-Input (or Signature) member under a label the verifier never
// tries, whose content this implementation cannot use (a component it does
// not support, a parameter of another type, a member that is not an inner
// list), must not make it refuse the signature it does verify. The same
// member under the verified label is still refused (fail closed), and a
// Dictionary that does not parse is still refused as a whole (RFC 8941
// §4.2).
func TestVerifyIgnoresUnusableMemberOfAnotherLabel(t *testing.T) {
	k := testKey(t, "k")
	s := mustSigner(t, Options{Keys: StaticKey(k)})
	others := map[string][2]string{
		"unknown derived component": {`other=("@status");created=1;keyid="x"`, `other=:AAAA:`},
		"trailer field":             {`other=("x-total";tr);created=1;keyid="x"`, `other=:AAAA:`},
		"created as a string":       {`other=("@method");created="yesterday";keyid="x"`, `other=:AAAA:`},
		"keyid as a token":          {`other=("@method");keyid=x`, `other=:AAAA:`},
		"not an inner list":         {`other=1`, `other=:AAAA:`},
		"signature not bytes":       {`other=("@method");keyid="x"`, `other="abc"`},
	}
	for name, o := range others {
		t.Run(name, func(t *testing.T) {
			for _, label := range []string{"sig1", ""} {
				v := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k), Label: label})
				r := serverView(t, signed(t, s, "GET", "https://api.example.com/x", "", t0))
				r.Header.Add("Signature-Input", o[0])
				r.Header.Add("Signature", o[1])
				res, err := v.Verify(r, t0)
				if err != nil || res.Label != "sig1" {
					t.Fatalf("Label %q: Verify = %+v, %v; want sig1 accepted", label, res, err)
				}
			}
			// The unusable member under the label the verifier asks for:
			// refused, as malformed.
			v := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k), Label: "other"})
			r := serverView(t, signed(t, s, "GET", "https://api.example.com/x", "", t0))
			r.Header.Add("Signature-Input", o[0])
			r.Header.Add("Signature", o[1])
			if res, err := v.Verify(r, t0); !errors.Is(err, ErrMalformed) {
				t.Fatalf("Label other: Verify = %+v, %v; want ErrMalformed", res, err)
			}
		})
	}

	// Only unusable members and no Label: refused as malformed.
	v := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k)})
	r := serverView(t, signed(t, s, "GET", "https://api.example.com/x", "", t0))
	r.Header.Set("Signature-Input", `sig1=("@status");created=1;keyid="k"`)
	if res, err := v.Verify(r, t0); !errors.Is(err, ErrMalformed) {
		t.Fatalf("only member unusable: Verify = %+v, %v; want ErrMalformed", res, err)
	}

	// A Dictionary that does not parse fails as a whole.
	for _, bad := range []string{`other=("@method"`, `Other=("@method")`} {
		r := serverView(t, signed(t, s, "GET", "https://api.example.com/x", "", t0))
		r.Header.Add("Signature-Input", bad)
		v := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k), Label: "sig1"})
		if res, err := v.Verify(r, t0); !errors.Is(err, ErrMalformed) {
			t.Fatalf("%s: Verify = %+v, %v; want ErrMalformed", bad, res, err)
		}
	}

	// Unusable members still count towards MaxSignatures.
	r = serverView(t, signed(t, s, "GET", "https://api.example.com/x", "", t0))
	for i := range MaxSignatures {
		r.Header.Add("Signature-Input", "o"+string(rune('a'+i))+`=1`)
	}
	v = newTestVerifier(t, VerifierOptions{Keys: StaticKey(k), Label: "sig1"})
	if res, err := v.Verify(r, t0); !errors.Is(err, ErrMalformed) {
		t.Fatalf("too many members: Verify = %+v, %v; want ErrMalformed", res, err)
	}
}

// TestSignContentLengthAsSent: net/http sends "Content-Length: 0" on a
// POST, PUT or PATCH without a body (nil or http.NoBody), in HTTP/1.1
// (transferWriter.shouldSendContentLength) and HTTP/2 alike, and never the
// Content-Length of Request.Header. A signer covering content-length must
// sign exactly that: the signed request goes through a real server to
// Verifier.Middleware, which must accept it.
func TestSignContentLengthAsSent(t *testing.T) {
	k := testKey(t, "k")
	comps := []Component{Method, Authority, Path, Query, Field("content-length")}
	s := mustSigner(t, Options{Keys: StaticKey(k), Components: comps})
	v := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k), Required: comps, AllowUnsignedBody: true, Clock: func() time.Time { return t0 }})
	for _, h2 := range []bool{false, true} {
		var accepted atomic.Int32
		srv := httptest.NewUnstartedServer(v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if h2 != (r.ProtoMajor == 2) {
				t.Errorf("request over %s", r.Proto)
			}
			accepted.Add(1)
		})))
		srv.EnableHTTP2 = h2
		srv.StartTLS()
		signAndSendContentLength(t, s, srv, &accepted)
		srv.Close()
	}

	// A GET or DELETE without a body carries no Content-Length, and a body
	// of unknown length goes chunked: nothing to sign.
	for _, req := range []*http.Request{
		httptest.NewRequest("GET", "https://api.example.com/x", nil),
		httptest.NewRequest("DELETE", "https://api.example.com/x", nil),
		func() *http.Request {
			r, _ := http.NewRequest("POST", "https://api.example.com/x", io.NopCloser(strings.NewReader("x")))
			return r
		}(),
	} {
		req.Header.Set("Content-Length", "0")
		req.ContentLength = 0
		if err := s.Sign(context.Background(), req, t0); !errors.Is(err, ErrMissingComponent) {
			t.Errorf("%s: Sign = %v, want ErrMissingComponent", req.Method, err)
		}
	}
}

func signAndSendContentLength(t *testing.T, s *Signer, srv *httptest.Server, accepted *atomic.Int32) {
	t.Helper()
	for _, tc := range []struct {
		method string
		body   func() io.Reader
		header string // a Content-Length in Request.Header, which is not sent
	}{
		{method: "POST"},
		{method: "PUT"},
		{method: "PATCH"},
		{method: "POST", body: func() io.Reader { return http.NoBody }},
		{method: "POST", header: "7"},
		{method: "PUT", body: func() io.Reader { return strings.NewReader("hello") }, header: "2"},
	} {
		var body io.Reader
		if tc.body != nil {
			body = tc.body()
		}
		req, err := http.NewRequest(tc.method, srv.URL+"/x", body)
		if err != nil {
			t.Fatal(err)
		}
		if tc.header != "" {
			req.Header.Set("Content-Length", tc.header)
		}
		if err := s.Sign(context.Background(), req, t0); err != nil {
			t.Fatalf("%s %q: Sign: %v", tc.method, tc.header, err)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s (header %q): status %d, want 200", tc.method, tc.header, resp.StatusCode)
		}
	}
	if n := accepted.Load(); n != 6 {
		t.Errorf("accepted %d requests, want 6", n)
	}
}
