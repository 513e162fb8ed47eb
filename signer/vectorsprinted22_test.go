package signer

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
)

// TestRFC9421PrintedFormsMatchDerived: the vectors as printed in RFC 9421
// (RFC 8792 wrapped) unwrap to the derived files the other tests read (the
// B.1.5 secret, the B.2 test request and response, CRLFs aside), so no
// vector file is left unchecked and a derived file that drifted from the
// RFC's text is caught.
func TestRFC9421PrintedFormsMatchDerived(t *testing.T) {
	for printed, derived := range map[string]string{
		"rfc9421/B.1.5-test-shared-secret.rfc8792.txt": "rfc9421/B.1.5-test-shared-secret.b64",
		"rfc9421/B.2-test-request.rfc8792.http":        "rfc9421/B.2-test-request.http",
		"rfc9421/B.2-test-response.rfc8792.http":       "rfc9421/B.2-test-response.http",
	} {
		got := strings.TrimRight(unwrap8792(string(vector(t, printed))), "\n")
		want := strings.TrimRight(strings.ReplaceAll(string(vector(t, derived)), "\r\n", "\n"), "\n")
		if got != want {
			t.Errorf("%s unwraps to\n%q\nwant %s:\n%q", printed, got, derived, want)
		}
	}
}

// TestRFC9530AppendixBExamples: the Appendix B messages (a full
// representation, a HEAD without one, a 206 with a partial one): each
// response's Content-Digest verifies against the content it carries (the
// 19 bytes of {"hello": "world"} and a newline, none, bytes 10-18), and
// its Repr-Digest, parsed by the same rules, against the whole
// representation. A HEAD request signed with the B.2 Content-Digest (of
// empty content) is signed, as the request carries no content.
func TestRFC9530AppendixBExamples(t *testing.T) {
	repr := []byte("{\"hello\": \"world\"}\n")
	for _, tc := range []struct {
		file    string
		content []byte
	}{
		{"rfc9530/appendix-B.1-full-representation.rfc8792.http", repr},
		{"rfc9530/appendix-B.2-no-representation-HEAD.rfc8792.http", nil},
		{"rfc9530/appendix-B.3-partial-representation.rfc8792.http", repr[10:19]},
	} {
		text := string(vector(t, tc.file))
		reqText, respText, ok := strings.Cut(text, "NOTE: '\\' line wrapping per RFC 8792")
		if !ok {
			t.Fatalf("%s: no RFC 8792 note before the response", tc.file)
		}
		head, body, _ := strings.Cut(strings.TrimLeft(unwrap8792("NOTE: '\\' line wrapping per RFC 8792"+respText), "\n"), "\n\n")
		if i := strings.Index(body, "\n\n"); i >= 0 {
			body = body[:i+1] // B.3 repeats its two fields after the message
		}
		resp, err := http.ReadResponse(bufioReader([]byte(strings.ReplaceAll(head, "\n", "\r\n")+"\r\n\r\n")), nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if !bytes.Equal([]byte(body), tc.content) {
			t.Errorf("%s: content %q, want %q", tc.file, body, tc.content)
		}
		if err := VerifyContentDigest(strings.NewReader(body), resp.Header.Values("Content-Digest")...); err != nil {
			t.Errorf("%s: Content-Digest: %v", tc.file, err)
		}
		if err := VerifyContentDigest(bytes.NewReader(repr), resp.Header.Values("Repr-Digest")...); err != nil {
			t.Errorf("%s: Repr-Digest against the representation: %v", tc.file, err)
		}
		req, err := http.ReadRequest(bufioReader([]byte(strings.ReplaceAll(strings.TrimRight(reqText, "\n"), "\n", "\r\n") + "\r\n\r\n")))
		if err != nil {
			t.Fatalf("%s: request: %v", tc.file, err)
		}
		if want := "/items/123"; req.URL.Path != want {
			t.Errorf("%s: request path %q, want %q", tc.file, req.URL.Path, want)
		}
		if req.Method == http.MethodHead {
			out, _ := http.NewRequest(http.MethodHead, "https://foo.example/items/123", nil)
			out.Header["Content-Digest"] = resp.Header.Values("Content-Digest")
			s := mustSigner(t, Options{Keys: StaticKey(testKey(t, "k")), Components: []Component{Method, Authority, Path, Field("content-digest")}})
			if err := s.Sign(context.Background(), out, t0); err != nil {
				t.Errorf("%s: signing a HEAD with the digest of empty content: %v", tc.file, err)
			}
		}
	}
}
