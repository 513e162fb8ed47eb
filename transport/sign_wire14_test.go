package transport_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
)

// rawServer is an HTTP/1.1 server on a bare net.Listener that keeps every
// request's bytes exactly as they arrived, one request per connection.
type rawServer struct {
	ln      net.Listener
	mu      sync.Mutex
	raws    [][]byte
	respond func(n int, raw []byte) string // response head for request n
}

func newRawServer(t *testing.T, network, addr string, respond func(n int, raw []byte) string) *rawServer {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Skipf("listen %s %s: %v", network, addr, err)
	}
	s := &rawServer{ln: ln, respond: respond}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return s
}

func (s *rawServer) serve(c net.Conn) {
	defer c.Close()
	var rec bytes.Buffer
	br := bufio.NewReader(io.TeeReader(c, &rec))
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	_, _ = io.Copy(io.Discard, req.Body) // the body's bytes, chunked or not
	raw := rec.Bytes()[:rec.Len()-br.Buffered()]
	s.mu.Lock()
	n := len(s.raws)
	s.raws = append(s.raws, append([]byte(nil), raw...))
	s.mu.Unlock()
	head := "HTTP/1.1 200 OK\r\n"
	if s.respond != nil {
		head = s.respond(n, raw)
	}
	_, _ = io.WriteString(c, head+"Content-Length: 0\r\nConnection: close\r\n\r\n")
}

func (s *rawServer) captured() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.raws...)
}

// wireRequest is a request parsed from its raw HTTP/1.1 bytes by hand,
// without net/http.
type wireRequest struct {
	method, target string
	fields         [][2]string // name (as sent), value (as sent)
	body           []byte
}

func parseWire(t *testing.T, raw []byte) wireRequest {
	t.Helper()
	head, rest, ok := bytes.Cut(raw, []byte("\r\n\r\n"))
	if !ok {
		t.Fatalf("no end of header section in %q", raw)
	}
	lines := strings.Split(string(head), "\r\n")
	parts := strings.Split(lines[0], " ")
	if len(parts) != 3 || parts[2] != "HTTP/1.1" {
		t.Fatalf("request line %q", lines[0])
	}
	w := wireRequest{method: parts[0], target: parts[1]}
	for _, l := range lines[1:] {
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			t.Fatalf("field line %q", l)
		}
		w.fields = append(w.fields, [2]string{name, strings.Trim(value, " \t")})
	}
	if strings.EqualFold(w.field("transfer-encoding"), "chunked") {
		for {
			sizeLine, after, _ := bytes.Cut(rest, []byte("\r\n"))
			size, err := strconv.ParseInt(string(sizeLine), 16, 64)
			if err != nil {
				t.Fatalf("chunk size %q", sizeLine)
			}
			if size == 0 {
				break
			}
			w.body = append(w.body, after[:size]...)
			rest = after[size+2:]
		}
	} else {
		w.body = rest
	}
	return w
}

// field returns the lines of the field name, trimmed, joined with ", "
// (RFC 9421 §2.1), and "" when absent.
func (w wireRequest) field(name string) string {
	var vs []string
	for _, f := range w.fields {
		if strings.EqualFold(f[0], name) {
			vs = append(vs, f[1])
		}
	}
	return strings.Join(vs, ", ")
}

func (w wireRequest) has(name string) bool {
	for _, f := range w.fields {
		if strings.EqualFold(f[0], name) {
			return true
		}
	}
	return false
}

// rfcCheck rebuilds the sig1 signature base of w from its wire bytes as RFC
// 9421 §2 and §2.5 describe it, for a plain-http request, and checks the
// sent Signature is the HMAC-SHA256 of that base under the secret of the
// keyid it names, and that a sent Content-Digest is the sha-256 of the
// content (RFC 9530). It returns the keyid and nonce.
func rfcCheck(t *testing.T, w wireRequest, secrets map[string][]byte) (keyID, nonce string) {
	t.Helper()
	input, ok := strings.CutPrefix(w.field("signature-input"), "sig1=")
	if !ok || strings.Contains(input, "sig1=") {
		t.Fatalf("Signature-Input %q: want one sig1 member", w.field("signature-input"))
	}
	inner := input[1:strings.IndexByte(input, ')')]
	var base strings.Builder
	for _, id := range strings.Fields(inner) {
		name := strings.Trim(id, `"`)
		var v string
		path, query, hasQuery := strings.Cut(w.target, "?")
		switch name {
		case "@method":
			v = w.method
		case "@authority":
			v = strings.ToLower(strings.TrimSuffix(w.field("host"), ":80"))
		case "@path":
			v = path
			if v == "" {
				v = "/"
			}
		case "@query":
			v = "?"
			if hasQuery {
				v += query
			}
		default:
			if strings.HasPrefix(name, "@") {
				t.Fatalf("component %s not rebuilt by this test", name)
			}
			if !w.has(name) {
				t.Fatalf("covered field %s was not sent", name)
			}
			v = w.field(name)
		}
		fmt.Fprintf(&base, "%s: %s\n", id, v)
	}
	fmt.Fprintf(&base, `"@signature-params": %s`, input)
	for _, p := range strings.Split(input[strings.IndexByte(input, ')')+1:], ";")[1:] {
		k, v, _ := strings.Cut(p, "=")
		switch k {
		case "keyid":
			keyID = strings.Trim(v, `"`)
		case "nonce":
			nonce = strings.Trim(v, `"`)
		}
	}
	secret, ok := secrets[keyID]
	if !ok {
		t.Fatalf("keyid %q unknown", keyID)
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(base.String()))
	want := "sig1=:" + base64.StdEncoding.EncodeToString(mac.Sum(nil)) + ":"
	if got := w.field("signature"); got != want {
		t.Errorf("Signature %q, want %q, the HMAC of the base rebuilt from the wire:\n%s", got, want, base.String())
	}
	if w.has("content-digest") {
		sum := sha256.Sum256(w.body)
		if got, want := w.field("content-digest"), "sha-256=:"+base64.StdEncoding.EncodeToString(sum[:])+":"; got != want {
			t.Errorf("Content-Digest %q, want %q for the %d bytes sent", got, want, len(w.body))
		}
	}
	return keyID, nonce
}

// verifyWire checks raw with the package's own Verifier.
func verifyWire(t *testing.T, raw []byte, keys signer.KeyLookup) *signer.Result {
	t.Helper()
	v, err := signer.NewVerifier(signer.VerifierOptions{Keys: keys, AllowMissingNonce: false})
	if err != nil {
		t.Fatal(err)
	}
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatal(err)
	}
	res, err := v.Verify(r, time.Now())
	if err != nil {
		t.Errorf("Verifier refused the request as sent: %v\n%s", err, raw)
	}
	return res
}

// TestSignWireMatchesRFCBase: the signature on the wire is the HMAC of the
// RFC 9421 base rebuilt from the raw bytes sent (method, Host, request
// target, the covered fields as sent, the body's digest), for hosts of every
// spelling, escaped paths, raw queries, empty and chunked bodies; and the
// Verifier accepts the same bytes.
func TestSignWireMatchesRFCBase(t *testing.T) {
	srv := newRawServer(t, "tcp", "127.0.0.1:0", nil)
	port := strconv.Itoa(srv.ln.Addr().(*net.TCPAddr).Port)
	base := "http://127.0.0.1:" + port
	scope := mustOrigins(t, base, "http://api.example.test:"+port)
	layer := newSignLayer(t, &http.Transport{DisableKeepAlives: true}, scope, nil)
	secrets := map[string][]byte{"client-1": signSecret}
	keys := signer.StaticKey(signKey(t))

	type tc struct {
		name string
		req  func() *http.Request
	}
	mk := func(method, url string, body io.Reader) *http.Request {
		r, err := http.NewRequest(method, url, body)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	cases := []tc{
		{"post json, escaped path, raw query", func() *http.Request {
			r := mk("POST", base+"/v1/a%20b/c%2Fd/%7E?b=x+y&a=1&a=2&c=%C3%A9&d=%20&e", strings.NewReader(`{"hello": "world"}`))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Authorization", "Bearer t0k")
			return r
		}},
		{"empty path, forced query", func() *http.Request { return mk("GET", base+"?", nil) }},
		{"empty path, no query", func() *http.Request { return mk("GET", base, nil) }},
		{"upper-case host", func() *http.Request {
			r := mk("GET", base+"/x", nil)
			r.Host = "API.Example.TEST:" + port
			return r
		}},
		{"host with a trailing dot", func() *http.Request {
			r := mk("GET", base+"/x", nil)
			r.Host = "api.example.test.:" + port
			return r
		}},
		{"post without body", func() *http.Request { return mk("POST", base+"/empty", nil) }},
		{"post with an empty replayable body", func() *http.Request {
			r := mk("POST", base+"/empty", nil)
			r.Body = io.NopCloser(strings.NewReader(""))
			r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("")), nil }
			return r
		}},
		{"chunked body", func() *http.Request {
			r := mk("PUT", base+"/chunked", nil)
			r.Body = io.NopCloser(strings.NewReader("streamed"))
			r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("streamed")), nil }
			r.ContentLength = -1
			return r
		}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, err := layer.RoundTrip(c.req())
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			raws := srv.captured()
			if len(raws) != i+1 {
				t.Fatalf("%d requests captured, want %d", len(raws), i+1)
			}
			raw := raws[i]
			w := parseWire(t, raw)
			rfcCheck(t, w, secrets)
			verifyWire(t, raw, keys)
			if c.name == "post with an empty replayable body" {
				// RFC 9530: sha-256 of empty content.
				if got := w.field("content-digest"); got != "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:" {
					t.Errorf("Content-Digest %q", got)
				}
			}
		})
	}
}

// TestSignWireIPv6: @authority of an IPv6 literal with a non-default port,
// rebuilt from the Host sent.
func TestSignWireIPv6(t *testing.T) {
	srv := newRawServer(t, "tcp6", "[::1]:0", nil)
	base := "http://[::1]:" + strconv.Itoa(srv.ln.Addr().(*net.TCPAddr).Port)
	layer := newSignLayer(t, &http.Transport{DisableKeepAlives: true}, mustOrigins(t, base), nil)
	req, _ := http.NewRequest("GET", base+"/v6?q=1", nil)
	resp, err := layer.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	raws := srv.captured()
	if len(raws) != 1 {
		t.Fatalf("%d requests", len(raws))
	}
	rfcCheck(t, parseWire(t, raws[0]), map[string][]byte{"client-1": signSecret})
	verifyWire(t, raws[0], signer.StaticKey(signKey(t)))
}

// TestSignWireEveryAttemptFresh: through retry, auth (its 401 replay) and a
// same-origin redirect of a real http.Client, every request on the wire is
// signed afresh (a distinct nonce each), with the key current at that
// attempt (rotated after the first), and verifies both by the RFC base
// rebuilt from the wire and by the Verifier.
func TestSignWireEveryAttemptFresh(t *testing.T) {
	k1, _ := signer.NewHMACKey("k1", []byte("first-secret-of-thirty-two-bytes"))
	k2, _ := signer.NewHMACKey("k2", []byte("second-secret-of-thirty-two-byte"))
	keys, err := signer.NewKeySet(k1, k2)
	if err != nil {
		t.Fatal(err)
	}
	srv := newRawServer(t, "tcp", "127.0.0.1:0", func(n int, raw []byte) string {
		switch n {
		case 0:
			if err := keys.Rotate(k2); err != nil {
				t.Error(err)
			}
			return "HTTP/1.1 503 Service Unavailable\r\n"
		case 1:
			return "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer error=\"invalid_token\"\r\n"
		case 2:
			return "HTTP/1.1 307 Temporary Redirect\r\nLocation: /moved\r\n"
		}
		return "HTTP/1.1 200 OK\r\n"
	})
	base := "http://127.0.0.1:" + strconv.Itoa(srv.ln.Addr().(*net.TCPAddr).Port)
	scope := mustOrigins(t, base)
	s, err := signer.New(signer.Options{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	sign, err := transport.NewSign(&http.Transport{DisableKeepAlives: true}, transport.SignConfig{Signer: s, Scope: scope})
	if err != nil {
		t.Fatal(err)
	}
	var tn int
	var tmu sync.Mutex
	src, err := tokens.NewCache(tokens.SourceFunc(func(context.Context) (tokens.Token, error) {
		tmu.Lock()
		defer tmu.Unlock()
		tn++
		return tokens.NewToken(fmt.Sprintf("t%d", tn), "Bearer", time.Now().Add(time.Hour)), nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	auth, err := transport.NewAuth(sign, transport.AuthConfig{Source: src, Scope: scope})
	if err != nil {
		t.Fatal(err)
	}
	retry, err := transport.NewRetry(auth, transport.RetryConfig{
		MaxAttempts: 3, IdempotencyKeys: true, ServerWaitJitter: -1, MinAttemptTime: -1,
		Backoff: func(_, _ time.Duration, _ int, _ *http.Response) time.Duration { return 0 },
	})
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: retry}
	req, _ := http.NewRequest("POST", base+"/start", strings.NewReader(`{"amount":5}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	raws := srv.captured()
	if len(raws) != 4 {
		t.Fatalf("%d requests on the wire, want 4 (503, 401 replayed, 307 followed)", len(raws))
	}
	secrets := map[string][]byte{"k1": []byte("first-secret-of-thirty-two-bytes"), "k2": []byte("second-secret-of-thirty-two-byte")}
	nonces := map[string]bool{}
	for i, raw := range raws {
		w := parseWire(t, raw)
		keyID, nonce := rfcCheck(t, w, secrets)
		if want := map[bool]string{true: "k1", false: "k2"}[i == 0]; keyID != want {
			t.Errorf("request %d signed with %s, want %s", i, keyID, want)
		}
		nonces[nonce] = true
		verifyWire(t, raw, keys)
	}
	if len(nonces) != 4 {
		t.Errorf("%d distinct nonces over 4 requests", len(nonces))
	}
}
