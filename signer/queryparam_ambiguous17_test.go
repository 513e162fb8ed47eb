package signer

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// rfcSignedQueryParam returns a request for target, received by a server,
// carrying an hmac-sha256 signature by key k over the RFC 9421 signature
// base line given for `"@query-param";name="<name>"`, as another RFC 9421
// implementation signs it.
func rfcSignedQueryParam(t *testing.T, target, name, line string) *http.Request {
	t.Helper()
	params := `("@query-param";name="` + name + `");created=` + strconv.FormatInt(t0.Unix(), 10) + `;keyid="k";nonce="n17"`
	base := `"@query-param";name="` + name + `": ` + line + "\n\"@signature-params\": " + params
	mac := hmac.New(sha256.New, append([]byte("k-"), testSecret...))
	mac.Write([]byte(base))
	raw := "GET " + target + " HTTP/1.1\r\nHost: api.example.com\r\n" +
		"Signature-Input: sig1=" + params + "\r\n" +
		"Signature: sig1=:" + base64.StdEncoding.EncodeToString(mac.Sum(nil)) + ":\r\n\r\n"
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
	if err != nil {
		t.Fatal(err)
	}
	r.TLS = &tls.ConnectionState{}
	return r
}

// @query-param is derived with the WHATWG form parser (RFC 9421 §2.2.8),
// which maps several wire forms to one signed value where net/http's
// url.ParseQuery, what a Go handler reads the query with, tells them
// apart or drops the pair: invalid UTF-8 becomes U+FFFD (any invalid
// sequence signs as any other), a '%' without two hex digits stays as it
// is (so "%zz" signs as "%25zz", which Go decodes, while Go drops the
// "%zz" pair), and a ';' in a pair is data (Go drops the pair). A pair
// changed in transit to such a form verified, and the handler read another
// value, or none. Go 1.26 also drops every parameter of a query of more
// than 10000 '&'-separated parts, which the WHATWG parser skips when empty.
func TestQueryParamAmbiguousForGoRefused(t *testing.T) {
	k := testKey(t, "k")
	v := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k), Nonces: acceptAll{},
		Required: []Component{QueryParam("id")}})
	for _, tc := range []struct {
		name, signed, sent, line string
	}{
		// The signer sent id=%FA (byte 0xFA); the attacker sends 0xFB.
		{"invalid UTF-8 swapped", "/pay?id=%FA", "/pay?id=%FB", "%EF%BF%BD"},
		// The signer sent id=%25zz ("%zz"); "%zz" is dropped by Go.
		{"invalid escape", "/pay?id=%25zz", "/pay?id=%zz", "%25zz"},
		// The signer sent id=1%3B2 ("1;2"); Go drops a pair with ';'.
		{"semicolon", "/pay?id=1%3B2", "/pay?id=1;2", "1%3B2"},
		// Go drops the whole query past 10000 parts.
		{"too many parts for Go", "/pay?id=7", "/pay?id=7" + strings.Repeat("&", 10000), "7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rfcSignedQueryParam(t, tc.sent, "id", tc.line)
			goSees, goHas := r.URL.Query()["id"]
			_, err := v.Verify(r, t0)
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("GET %.40s: Verify = %v (the handler reads id %q, present %v); want ErrMalformed", tc.sent, err, goSees, goHas)
			}
			// Our signer refuses to cover such a parameter too, as it does a
			// repeated name: Cover @query instead.
			s := mustSigner(t, Options{Keys: StaticKey(k), Components: []Component{Method, QueryParam("id").IfPresent()}})
			req, _ := http.NewRequest("GET", "https://api.example.com"+tc.sent, nil)
			if err := s.Sign(context.Background(), req, t0); !errors.Is(err, ErrMalformed) {
				t.Errorf("Sign %.40s = %v; want ErrMalformed", tc.sent, err)
			}
		})
		// What the signer sent, unambiguous, verifies.
		if tc.name != "invalid UTF-8 swapped" {
			r := rfcSignedQueryParam(t, tc.signed, "id", tc.line)
			if _, err := v.Verify(r, t0); err != nil {
				t.Errorf("%s: the signed %s refused: %v", tc.name, tc.signed, err)
			}
		}
	}
	// Other pairs' forms do not matter: only the covered name's pairs (and
	// the whole query's part count) decide what Go reads for it.
	r := rfcSignedQueryParam(t, "/pay?x=%zz&y=%FF&z=1;2&id=7", "id", "7")
	if _, err := v.Verify(r, t0); err != nil {
		t.Errorf("ambiguous other pairs: %v", err)
	}
}
