package signer

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The properties FuzzSignVerifyWire checks, for a request built from the
// fuzzed method, request-target (path with odd escapes and dot segments,
// query with repeated, empty and percent-encoded parameters), Host (port,
// IDN, IPv6), one covered field (its lines separated by 0x1F in the input:
// obs-fold, whitespace at either end, commas) and body:
//
//  1. Sign either refuses it with a typed error, or the request verifies as
//     a server gets it: parsed by net/http from the bytes req.Write puts on
//     the wire, and received by a real httptest server over loopback from
//     a real http.Client, over HTTP/1.1 and over HTTP/2 (when net/http sends
//     it at all).
//  2. Changing any one byte of a covered part on the wire (the method, the
//     path, the query, the Host, the covered field, the body) makes the
//     parse fail or the verification fail.

// wireServers are two TLS loopback servers running the verifier's
// Middleware, one speaking HTTP/1.1 only and one HTTP/2, shared by every
// input of a fuzz run.
type wireServers struct {
	h1, h2 *httptest.Server
	mu     sync.Mutex
	got    map[string]wireResult // X-Fuzz-Id -> what the server saw
}

type wireResult struct {
	proto int
	err   error
}

func newWireServers(tb testing.TB, v *Verifier) *wireServers {
	ws := &wireServers{got: make(map[string]wireResult)}
	// Middleware's error handler records the refusal; the handler the
	// acceptance.
	vv := *v
	vv.onError = func(w http.ResponseWriter, r *http.Request, err error) {
		ws.record(r, err)
		w.WriteHeader(http.StatusUnauthorized)
	}
	h := vv.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws.record(r, nil)
	}))
	ws.h1 = httptest.NewUnstartedServer(h)
	ws.h1.StartTLS()
	ws.h2 = httptest.NewUnstartedServer(h)
	ws.h2.EnableHTTP2 = true
	ws.h2.StartTLS()
	tb.Cleanup(ws.h1.Close)
	tb.Cleanup(ws.h2.Close)
	return ws
}

func (ws *wireServers) record(r *http.Request, err error) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	ws.got[r.Header.Get("X-Fuzz-Id")] = wireResult{proto: r.ProtoMajor, err: err}
}

func (ws *wireServers) take(id string) (wireResult, bool) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	res, ok := ws.got[id]
	delete(ws.got, id)
	return res, ok
}

// signRefusalTyped reports whether err is one of the package's typed
// refusals.
func signRefusalTyped(err error) bool {
	var ce *ConfigError
	var ke *KeyError
	if errors.As(err, &ce) || errors.As(err, &ke) {
		return true
	}
	for _, s := range []error{ErrMalformed, ErrMissingComponent, ErrInvalidHost, ErrDigestMismatch, ErrBodyNotReplayable, ErrLabelInUse} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// FuzzSignVerifyWire's mode bits.
const (
	wireChunked = 1 << iota // body sent chunked (TransferEncoding)
	wireOpaque              // the target (before '?') set as URL.Opaque, sent as it is
	wireAuth                // an Authorization field (covered by default)
)

func FuzzSignVerifyWire(f *testing.F) {
	type seed struct {
		method, target, host, name, value string
		body                              []byte
		mode                              uint8 // wireChunked | wireOpaque | wireAuth
	}
	for _, s := range []seed{
		{"GET", "/v1/items?limit=10&q=a+b", "", "x-custom", "v", nil, 0},
		{"POST", "/orders/%2F/./../x?a=1&a=2&&b=&=c", "api.example.com:8443", "x-custom", "a, b\x1f c ", []byte(`{"item":42}`), 0},
		{"PUT", "/a%2fb/%7E/%7e/%25zz", "[::1]:443", "x-list", "\t1,2 ,, 3\t", []byte("\x00\x01binary"), wireChunked},
		{"PATCH", "//double//slash/.%2e/?%FF=%zz&x=%E2%82%AC", "BÜCHER.example", "cookie", "a=1; b=2\x1f c=3", []byte("x"), 0},
		{"DELETE", "/", "xn--bcher-kva.example:80", "x-fold", "a\r\n b", nil, 0},
		{"get", "/p?;=;&+=+", "API.Example.COM", "content-type", "text/plain; charset=\"utf-8\"", []byte("hello"), 0},
		{"OPTIONS", "/a|b^c{d}?q=|^", "127.0.0.1", "host", "", nil, 0},
		{"POST", "/x", "example.com/evil", "x-custom", "  ", []byte("b"), 0},
		{"HEAD", "/h?", "example.com:", "user-agent", "ua\x1fua2", nil, 0},
		{"POST", "/e", "", "content-length", "", nil, 0},
		{"GET", "/a?a b", "", "", "", nil, 0}, // a space ends the HTTP/1.1 request-target: refused
		{"GET", "/a b/%2F|x?q=%zz&q", "h.example", "x-a", "v", nil, wireOpaque},
		{"POST", "/o/../p?x=1", "[2001:db8::1]:8443", "authorization", "tok, en", []byte("{}"), wireAuth | wireOpaque},
		{"0", "//0", "0", "0", "0", []byte("0"), wireChunked | wireOpaque}, // absolute form: Host ignored
		{"GET", "//b.example/x", "a.example", "", "", nil, wireOpaque},     // absolute form, another Host: refused
	} {
		f.Add(s.method, s.target, s.host, s.name, s.value, s.body, s.mode)
	}
	k := testKey(f, "fuzz")
	v := newTestVerifier(f, VerifierOptions{Keys: StaticKey(k), Nonces: acceptAll{}, Clock: func() time.Time { return t0 }})
	ws := newWireServers(f, v)
	var seq int64
	var seqMu sync.Mutex
	f.Fuzz(func(t *testing.T, method, target, host, name, value string, body []byte, mode uint8) {
		if !strings.HasPrefix(target, "/") && mode&wireOpaque == 0 || len(target) > 2048 || len(value) > 2048 || len(body) > 4096 {
			return
		}
		comps := append(DefaultComponents(), TargetURI, RequestTarget)
		if c := Field(strings.ToLower(name)).IfPresent(); name != "" && !slices.ContainsFunc(comps, c.Equal) {
			comps = append(comps, c)
		}
		s, err := New(Options{Keys: StaticKey(k), Components: comps})
		if err != nil {
			return // a field name no signer covers (Transfer-Encoding, not a token, ...)
		}
		seqMu.Lock()
		seq++
		id := strings.Repeat("i", int(seq%7)) + string(rune('a'+seq%26))
		seqMu.Unlock()

		build := func(srv *httptest.Server) (*http.Request, error) {
			raw := srv.URL + target
			if mode&wireOpaque != 0 {
				raw = srv.URL // the target goes into Opaque, as it is
			}
			u, err := url.Parse(raw)
			if err != nil {
				return nil, err
			}
			var rd io.Reader
			if len(body) > 0 {
				rd = bytes.NewReader(body)
			}
			req, err := http.NewRequest(method, u.String(), rd)
			if err != nil {
				return nil, err
			}
			if host != "" {
				req.Host = host
			}
			if mode&wireChunked != 0 {
				req.TransferEncoding = []string{"chunked"}
			}
			if mode&wireOpaque != 0 {
				// The path as the caller wrote it, sent as it is.
				p, q, hasQ := strings.Cut(target, "?")
				req.URL.Opaque, req.URL.RawPath = p, ""
				if hasQ {
					req.URL.RawQuery = q
				}
			}
			if mode&wireAuth != 0 {
				req.Header.Set("Authorization", "Bearer "+value)
			}
			if name != "" {
				for line := range strings.SplitSeq(value, "\x1f") {
					req.Header[name] = append(req.Header[name], line)
				}
			}
			req.Header.Set("X-Fuzz-Id", id)
			return req, nil
		}

		// The servers that refused the request before the handler, signed
		// or not, and those where it verified: a request one protocol
		// delivers as signed and the other cannot carry is a signature
		// that verifies on one protocol only (checked at the end).
		var refused, verified []*httptest.Server
		for _, srv := range []*httptest.Server{ws.h1, ws.h2} {
			req, err := build(srv)
			if err != nil {
				return
			}
			if err := s.Sign(context.Background(), req, t0); err != nil {
				if !signRefusalTyped(err) {
					t.Fatalf("Sign refused %s %q (Host %q) with an untyped error: %v", method, target, host, err)
				}
				return
			}
			signedHeader := req.Header.Clone()

			// As net/http parses the bytes req.Write writes.
			if wire, ok := toWire(req); ok {
				if _, err := v.Verify(wire(), t0); err != nil {
					t.Fatalf("%s %q Host %q: request read from req.Write's bytes refused: %v\n%q", method, target, host, err, wireBytes(req))
				}
				if srv == ws.h1 {
					checkTamper(t, v, req, name)
				}
			}

			// Over loopback to a real server. A target no server parses
			// ("/%0" in a hand-set Opaque) is answered 400 over HTTP/1.1,
			// and over HTTP/2 net/http retries it on new connections until
			// the context ends: not sent.
			if _, err := url.ParseRequestURI(req.URL.RequestURI()); err != nil {
				continue
			}
			resp, err := srv.Client().Do(req)
			got, seen := ws.take(id)
			if err != nil {
				if seen {
					t.Fatalf("server saw %s %q Host %q but the client failed: %v", method, target, host, err)
				}
				continue // net/http refuses to send it
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if !seen {
				// The server refused the request before the handler: a
				// failure of the signer only if it takes the request
				// unsigned (a hand-set Opaque "x" is no request-target).
				plain, err := build(srv)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := url.ParseRequestURI(plain.URL.RequestURI()); err != nil {
					t.Fatalf("%s: sent, though no request-target", plain.URL.RequestURI())
				}
				if resp, err := srv.Client().Do(plain); err == nil {
					_ = resp.Body.Close()
				}
				if _, ok := ws.take(id); !ok {
					refused = append(refused, srv)
					continue
				}
				t.Fatalf("%s %q Host %q: status %d, handler not reached, though it is unsigned", method, target, host, resp.StatusCode)
			}
			want := 1
			if srv == ws.h2 {
				want = 2
			}
			if got.proto != want {
				t.Fatalf("request went over HTTP/%d, want HTTP/%d", got.proto, want)
			}
			if got.err != nil {
				t.Fatalf("HTTP/%d %s %q Host %q: signed request refused by the server: %v\nsigned header: %q", want, method, target, host, got.err, signedHeader)
			}
			verified = append(verified, srv)
		}
		if len(refused) > 0 && len(verified) > 0 {
			t.Fatalf("%s %q Host %q: verified over one protocol, refused by the other's server before the handler", method, target, host)
		}
	})
}

func wireBytes(req *http.Request) []byte {
	out := req.Clone(context.Background())
	if req.GetBody != nil {
		out.Body, _ = req.GetBody()
	}
	var buf bytes.Buffer
	_ = out.Write(&buf)
	return buf.Bytes()
}

// tamperByte returns a byte other than b that is not b in another case.
func tamperByte(b byte) byte {
	switch {
	case b >= 'a' && b < 'z', b >= 'A' && b < 'Z', b >= '0' && b < '9':
		return b + 1
	case b == 'z', b == 'Z', b == '9':
		return b - 1
	case b == 'x':
		return 'y'
	}
	return 'x'
}

// checkTamper changes, one at a time, bytes of each covered part of req's
// wire form (method, path, query, Host, the covered field name's lines,
// a fixed-length body) and checks that none of the results verifies.
func checkTamper(t *testing.T, v *Verifier, req *http.Request, field string) {
	t.Helper()
	raw := wireBytes(req)
	head, bodyPart, ok := bytes.Cut(raw, []byte("\r\n\r\n"))
	if !ok {
		return
	}
	bodyStart := len(head) + 4
	lineEnd := bytes.Index(raw, []byte("\r\n"))
	sp1 := bytes.IndexByte(raw[:lineEnd], ' ')
	sp2 := bytes.LastIndexByte(raw[:lineEnd], ' ')
	if sp1 < 0 || sp2 <= sp1 {
		return
	}
	type span struct {
		what       string
		start, end int
	}
	spans := []span{{"method", 0, sp1}}
	if q := bytes.IndexByte(raw[sp1+1:sp2], '?'); q >= 0 {
		spans = append(spans, span{"path", sp1 + 1, sp1 + 1 + q}, span{"query", sp1 + 1 + q + 1, sp2})
	} else {
		spans = append(spans, span{"path", sp1 + 1, sp2})
	}
	field = strings.ToLower(field)
	for pos := lineEnd + 2; pos < len(head); {
		end := bytes.Index(raw[pos:], []byte("\r\n"))
		if end < 0 {
			end = len(head) - pos
		}
		line := raw[pos : pos+end]
		if colon := bytes.IndexByte(line, ':'); colon > 0 {
			n := strings.ToLower(string(line[:colon]))
			val := pos + colon + 1
			for val < pos+end && (raw[val] == ' ' || raw[val] == '\t') {
				val++
			}
			vend := pos + end
			for vend > val && (raw[vend-1] == ' ' || raw[vend-1] == '\t') {
				vend--
			}
			switch {
			case n == "host" && raw[sp1+1] == '/':
				// Of an absolute-form target ("GET https://h/x") a server
				// takes the authority, ignoring Host (RFC 9112 §3.2.2).
				spans = append(spans, span{"Host", val, vend})
			case n == field:
				spans = append(spans, span{n, val, vend})
			}
		}
		pos += end + 2
	}
	if len(bodyPart) > 0 && fixedLength(req) {
		spans = append(spans, span{"body", bodyStart, len(raw)})
	}
	for _, sp := range spans {
		n := sp.end - sp.start
		step := 1
		if n > 32 {
			step = n / 32
		}
		for i := sp.start; i < sp.end; i += step {
			b := raw[i]
			if b == ' ' || b == '\t' {
				continue // whitespace inside a field value is another test
			}
			mod := bytes.Clone(raw)
			mod[i] = tamperByte(b)
			r, err := http.ReadRequest(bufioReader(mod))
			if err != nil {
				continue // not a request any more
			}
			r.TLS = tlsState
			if res, err := v.Verify(r, t0); err == nil {
				t.Fatalf("%s byte %d %q changed to %q: still verifies (%v)\n%q", sp.what, i-sp.start, b, mod[i], res.Components, mod)
			}
		}
	}
}

// fixedLength reports whether req's body goes on the wire as it is (a
// Content-Length, not chunked).
func fixedLength(req *http.Request) bool {
	return req.ContentLength > 0 && !slices.Contains(req.TransferEncoding, "chunked")
}
