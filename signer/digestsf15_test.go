package signer

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// TestVerifyContentDigestSFBSKey: a signature made elsewhere covering
// "content-digest";sf (RFC 9421 §2.1.1), "content-digest";bs (§2.1.3) or
// "content-digest";key="sha-256" / "sha-512" (§2.1.2) covers the digest:
// the request verifies and its body is checked against Content-Digest. A
// key naming an algorithm the verifier does not check (md5) does not cover
// it: another member, unsigned, could describe any body. With
// AllowUnsignedBody a signature covering the digest these ways still has it
// checked against the body.
func TestVerifyContentDigestSFBSKey(t *testing.T) {
	secret, err := base64.StdEncoding.DecodeString(string(vector(t, "rfc9421/B.1.5-test-shared-secret.b64")))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	body := `{"hello": "world"}`
	s256 := sha256.Sum256([]byte(body))
	s512 := sha512.Sum512([]byte(body))
	m5 := md5.Sum([]byte(body))
	evil := `{"hello": "mallory"}`
	e256 := sha256.Sum256([]byte(evil))
	e512 := sha512.Sum512([]byte(evil))
	d256 := "sha-256=:" + b64(s256[:]) + ":"
	d512 := "sha-512=:" + b64(s512[:]) + ":"

	cases := []struct {
		name      string
		field     []string // Content-Digest lines as sent
		cdID      string
		cdLine    string // its signature base value, by hand
		sentBody  string // default body
		sentField []string
		allow     bool // VerifierOptions.AllowUnsignedBody
		wantErr   error
	}{
		{name: "sf strict re-serialisation", field: []string{d256 + " ,\t" + d512},
			cdID: `"content-digest";sf`, cdLine: d256 + ", " + d512},
		{name: "sf two lines", field: []string{d256, d512},
			cdID: `"content-digest";sf`, cdLine: d256 + ", " + d512},
		{name: "bs", field: []string{d256 + ",  " + d512},
			cdID: `"content-digest";bs`, cdLine: ":" + b64([]byte(d256+",  "+d512)) + ":"},
		{name: "bs two lines", field: []string{d256, " " + d512 + " "},
			cdID: `"content-digest";bs`, cdLine: ":" + b64([]byte(d256)) + ":, :" + b64([]byte(d512)) + ":"},
		{name: "key sha-256", field: []string{d256 + ", " + d512},
			cdID: `"content-digest";key="sha-256"`, cdLine: ":" + b64(s256[:]) + ":"},
		{name: "key sha-512", field: []string{d512},
			cdID: `"content-digest";key="sha-512"`, cdLine: ":" + b64(s512[:]) + ":"},

		// The digest is still checked against the body.
		{name: "sf body replaced", field: []string{d256},
			cdID: `"content-digest";sf`, cdLine: d256, sentBody: evil, wantErr: ErrDigestMismatch},
		{name: "bs body replaced", field: []string{d256},
			cdID: `"content-digest";bs`, cdLine: ":" + b64([]byte(d256)) + ":", sentBody: evil, wantErr: ErrDigestMismatch},
		{name: "key body replaced, unsigned member added for it", field: []string{d256},
			cdID: `"content-digest";key="sha-256"`, cdLine: ":" + b64(s256[:]) + ":", sentBody: evil,
			sentField: []string{d256 + ", sha-512=:" + b64(e512[:]) + ":"}, wantErr: ErrDigestMismatch},
		{name: "sf body replaced, unsigned bodies allowed", field: []string{d256}, allow: true,
			cdID: `"content-digest";sf`, cdLine: d256, sentBody: evil, wantErr: ErrDigestMismatch},
		{name: "key body replaced, unsigned bodies allowed", field: []string{d256}, allow: true,
			cdID: `"content-digest";key="sha-256"`, cdLine: ":" + b64(s256[:]) + ":", sentBody: evil, wantErr: ErrDigestMismatch},
		// A member the verifier never checks covers nothing.
		{name: "key md5", field: []string{"md5=:" + b64(m5[:]) + ":"},
			cdID: `"content-digest";key="md5"`, cdLine: ":" + b64(m5[:]) + ":", sentBody: evil,
			sentField: []string{"md5=:" + b64(m5[:]) + ":, sha-256=:" + b64(e256[:]) + ":"}, wantErr: ErrMissingComponent},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sentBody, sentField := body, tc.field
			if tc.sentBody != "" {
				sentBody = tc.sentBody
			}
			if tc.sentField != nil {
				sentField = tc.sentField
			}
			params := `("@method" "@authority" "@path" "@query" ` + tc.cdID + `);created=` +
				strconv.FormatInt(now.Unix(), 10) + `;keyid="test-shared-secret";nonce="n-` + strings.ReplaceAll(tc.name, " ", "-") + `"`
			base := "\"@method\": POST\n" +
				"\"@authority\": example.com\n" +
				"\"@path\": /orders\n" +
				"\"@query\": ?\n" +
				tc.cdID + ": " + tc.cdLine + "\n" +
				"\"@signature-params\": " + params
			mac := hmac.New(sha256.New, secret)
			mac.Write([]byte(base))

			r := httptest.NewRequest("POST", "https://example.com/orders", strings.NewReader(sentBody))
			r.Header["Content-Digest"] = sentField
			r.Header.Set("Signature-Input", "sig1="+params)
			r.Header.Set("Signature", "sig1=:"+b64(mac.Sum(nil))+":")

			v := rfcVerifier(t, VerifierOptions{AllowUnsignedBody: tc.allow})
			res, err := v.Verify(r, now)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Verify: %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v\nbase:\n%s", err, base)
			}
			if res.KeyID != "test-shared-secret" {
				t.Errorf("KeyID %q", res.KeyID)
			}
		})
	}
}
