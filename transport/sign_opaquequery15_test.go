package transport_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/transport"
)

// opaqueQueryComps covers the path and query of the request-target, the
// target URI, and one query parameter when the request has it.
var opaqueQueryComps = append(signer.DefaultComponents(), signer.TargetURI, signer.QueryParam("x").IfPresent())

// opaqueQueryCases are hand-set URL.Opaque values (with URL.RawQuery) whose
// request-target holds a query: net/http sends Opaque as it is, then
// "?"+RawQuery, and a receiver splits the target at its first '?'.
func opaqueQueryCases(_, authority string) []opaqueCase {
	return []opaqueCase{
		{"/a?x=1", "", "/a", "x=1"},
		{"/a%2Fb?x=1", "", "/a%2Fb", "x=1"},
		{"/a?x=1", "y=2", "/a", "x=1?y=2"},
		{"/a?", "", "/a", ""},
		{"//" + authority + "/p?x=1", "", "/p", "x=1"},
	}
}

// opaqueCase is a hand-set URL.Opaque and URL.RawQuery, and the path and
// query a receiver reads from the request-target net/http sends for them.
type opaqueCase struct{ opaque, rawQuery, wantPath, wantQuery string }

// A request whose hand-set URL.Opaque holds a query ("/a%2Fb?x=1", the
// documented way to send a path encoding, with the query written in) goes
// on the wire with that query. The signer took the whole Opaque for @path
// and only URL.RawQuery for @query (and @query-param), so @path signed
// "/a%2Fb?x=1" and @query "?" while the server reads "/a%2Fb" and "?x=1":
// every such signature failed to verify, over HTTP/1.1 and HTTP/2, and
// QueryParam("x").IfPresent() left the parameter sent unsigned. The
// signature base is the one rebuilt by hand from the bytes sent.
func TestSignOpaqueWithQuery(t *testing.T) {
	checkOpaqueTargets(t, opaqueQueryCases)
}

// checkOpaqueTargets sends a request for each of cases(scheme, authority)
// through the sign layer: to a raw HTTP/1.1 server, where the signature
// must be the HMAC of the base rebuilt by hand from the bytes sent and the
// Verifier must accept them, and to TLS servers over HTTP/1.1 and HTTP/2
// that verify it, with @query-param covered exactly when x is sent.
func checkOpaqueTargets(t *testing.T, cases func(scheme, authority string) []opaqueCase) {
	t.Helper()
	srv := newRawServer(t, "tcp", "127.0.0.1:0", nil)
	authority := "127.0.0.1:" + strconv.Itoa(srv.ln.Addr().(*net.TCPAddr).Port)
	base := "http://" + authority
	s, err := signer.New(signer.Options{Keys: signer.StaticKey(signKey(t)), Components: opaqueQueryComps})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := transport.NewSign(&http.Transport{DisableKeepAlives: true}, transport.SignConfig{Signer: s, Scope: mustOrigins(t, base)})
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases("http", authority) {
		req, err := http.NewRequest(http.MethodGet, base+"/unused", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.URL.Opaque, req.URL.RawQuery = c.opaque, c.rawQuery
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatalf("Opaque %q: %v", c.opaque, err)
		}
		resp.Body.Close()
		raws := srv.captured()
		if len(raws) != i+1 {
			t.Fatalf("%d requests captured, want %d", len(raws), i+1)
		}
		w := parseWire(t, raws[i])
		target := strings.TrimPrefix(w.target, base)
		path, query, _ := strings.Cut(target, "?")
		if path != c.wantPath || query != c.wantQuery {
			t.Fatalf("Opaque %q RawQuery %q sent %q: path %q query %q, want %q %q", c.opaque, c.rawQuery, w.target, path, query, c.wantPath, c.wantQuery)
		}
		// The base, rebuilt by hand from the bytes sent.
		input := strings.TrimPrefix(w.field("signature-input"), "sig1=")
		var b strings.Builder
		b.WriteString("\"@method\": GET\n\"@authority\": " + authority + "\n\"@path\": " + path + "\n\"@query\": ?" + query + "\n")
		b.WriteString("\"@target-uri\": " + base + target + "\n")
		if strings.HasPrefix(query, "x=") {
			// The value up to the next '&', form-encoded (RFC 9421 §2.2.8).
			v, _, _ := strings.Cut(strings.TrimPrefix(query, "x="), "&")
			b.WriteString("\"@query-param\";name=\"x\": " + url.QueryEscape(v) + "\n")
		}
		b.WriteString(`"@signature-params": ` + input)
		if got, want := w.field("signature"), hmacSignature(b.String()); got != want {
			t.Errorf("Opaque %q RawQuery %q: Signature %q, want %q, the HMAC of the base rebuilt from the wire:\n%s", c.opaque, c.rawQuery, got, want, b.String())
		}
		verifyWire(t, raws[i], signer.StaticKey(signKey(t)))
	}

	for _, h2 := range []bool{false, true} {
		ps := protoServer(t, h2, func(r *http.Request, res *signer.Result) string {
			covered := slices.ContainsFunc(res.Components, func(c signer.Component) bool { return c.Name() == "@query-param" })
			if r.URL.Query().Has("x") != covered {
				return "query parameter x sent but not covered"
			}
			return ""
		})
		rt := signedClient(t, ps, opaqueQueryComps...)
		// The absolute-form Opaque names the TLS server's own authority.
		for _, c := range cases("https", strings.TrimPrefix(ps.URL, "https://")) {
			req, err := http.NewRequest(http.MethodGet, ps.URL+"/unused", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.URL.Opaque, req.URL.RawQuery = c.opaque, c.rawQuery
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Errorf("%s, Opaque %q: %v", protoName(h2), c.opaque, err)
				continue
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("%s, Opaque %q RawQuery %q: %d %s", protoName(h2), c.opaque, c.rawQuery, resp.StatusCode, strings.TrimSpace(string(body)))
			}
		}
	}
}

// hmacSignature is the sig1 Signature of base under signSecret.
func hmacSignature(base string) string {
	mac := hmac.New(sha256.New, signSecret)
	mac.Write([]byte(base))
	return "sig1=:" + base64.StdEncoding.EncodeToString(mac.Sum(nil)) + ":"
}

// A hand-set URL.Opaque in absolute form with its scheme
// ("https://api.example.com/p?x=1") is sent as the target (HTTP/1.1) or as
// the path after the scheme and authority (HTTP/2), and a receiver reads
// the path "/p" from it; @path signed the whole Opaque, so no such
// signature verified.
func TestSignOpaqueAbsoluteFormWithScheme(t *testing.T) {
	checkOpaqueTargets(t, func(scheme, authority string) []opaqueCase {
		return []opaqueCase{
			{scheme + "://" + authority + "/p", "", "/p", ""},
			{scheme + "://" + authority + "/p%2Fq?x=1", "", "/p%2Fq", "x=1"},
			{scheme + "://" + authority + "/p", "x=2", "/p", "x=2"},
		}
	})
}
