package signer

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestSignReplacesEmptySignatureLines: a forwarding proxy that copies the
// signature fields of the request it received
// (out.Header.Set("Signature", in.Header.Get("Signature"))) sets empty
// Signature-Input and Signature lines when that request was not signed.
// Sign parsed them (an empty Dictionary, no label in use) and appended its
// member as a second line, which net/http sends as it is over HTTP/1.1 and
// HTTP/2: a receiver joins the lines as ", sig1=...", which no Structured
// Fields parser reads (RFC 8941 §4.2), so every verifier refused every
// such request as malformed. Sign now drops empty (or blank) lines of the
// two fields before adding its member, and the request verifies over both
// protocols; a line with a member is still kept beside the new one.
func TestSignReplacesEmptySignatureLines(t *testing.T) {
	k := testKey(t, "k")
	s := mustSigner(t, Options{Keys: StaticKey(k)})
	v := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k), Nonces: acceptAll{}})
	var errs []error
	var inputs [][]string
	h := http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		inputs = append(inputs, r.Header.Values("Signature-Input"))
		_, err := v.Verify(r, t0)
		errs = append(errs, err)
	})
	h1 := httptest.NewUnstartedServer(h)
	h1.StartTLS()
	defer h1.Close()
	h2 := httptest.NewUnstartedServer(h)
	h2.EnableHTTP2 = true
	h2.StartTLS()
	defer h2.Close()
	for _, blank := range []string{"", " \t "} {
		for _, srv := range []*httptest.Server{h1, h2} {
			req, err := http.NewRequest("GET", srv.URL+"/a?b=c", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Signature-Input", blank)
			req.Header.Set("Signature", blank)
			if err := s.Sign(context.Background(), req, t0); err != nil {
				t.Fatalf("Sign: %v", err)
			}
			if got := req.Header["Signature-Input"]; len(got) != 1 {
				t.Errorf("blank %q: Signature-Input lines %q; want the new member's line only", blank, got)
			}
			if got := req.Header["Signature"]; len(got) != 1 {
				t.Errorf("blank %q: Signature lines %q; want the new member's line only", blank, got)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if n := len(errs); n == 0 || errs[n-1] != nil {
				t.Errorf("blank %q, HTTP/%d: Verify = %v (Signature-Input received as %q); want nil", blank, resp.ProtoMajor, errs, inputs)
			}
		}
	}

	// A line holding another label's member stays, beside the new one.
	req, _ := http.NewRequest("GET", h1.URL+"/a", nil)
	req.Header["Signature-Input"] = []string{"", `other=("@method");created=1`}
	req.Header["Signature"] = []string{`other=:AAAA:`}
	if err := s.Sign(context.Background(), req, t0); err != nil {
		t.Fatalf("Sign beside another label: %v", err)
	}
	if got := req.Header["Signature-Input"]; len(got) != 2 || got[0] != `other=("@method");created=1` {
		t.Errorf("Signature-Input beside another label: %q; want the other label's line, then the new one", got)
	}
	if _, err := v.Verify(serverView(t, req), t0); err != nil {
		t.Errorf("beside another label: Verify = %v", err)
	}

	// A signer covering the other label's member (RFC 9421 §4.3) reads it
	// from the lines left, not from the lines as they were.
	cs := mustSigner(t, Options{Keys: StaticKey(k), Label: "proxy",
		Components: []Component{Method, FieldKey("signature", "other"), FieldKey("signature-input", "other")}})
	req, _ = http.NewRequest("GET", h1.URL+"/a", nil)
	req.Header["Signature-Input"] = []string{"", `other=("@method");created=1`}
	req.Header["Signature"] = []string{`other=:AAAA:`, " "}
	if err := cs.Sign(context.Background(), req, t0); err != nil {
		t.Fatalf("Sign covering the other label's member: %v", err)
	}
	cv := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k), Nonces: acceptAll{}, Label: "proxy",
		Required: []Component{Method, FieldKey("signature", "other")}})
	if _, err := cv.Verify(serverView(t, req), t0); err != nil {
		t.Errorf("covering the other label's member: Verify = %v", err)
	}
}
