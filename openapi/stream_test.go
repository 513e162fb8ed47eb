package openapi_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport/transporttest"
)

// streamSpec describes an event stream (a media type without a schema), a
// long poll (a response without content) and a JSON resource.
const streamSpec = `
openapi: 3.0.3
info: {title: stream, version: "1"}
servers: [{url: "https://api.example.test"}]
paths:
  /events:
    get:
      responses:
        "200":
          description: server-sent events
          content:
            text/event-stream: {}
  /poll:
    get:
      responses:
        "200": {description: "the next change, whenever it comes"}
  /doc:
    get:
      responses:
        "200":
          description: a document
          content:
            application/json:
              schema: {type: object}
`

// earlyReadBody reports every Read made before the test took the
// response from the layer.
type earlyReadBody struct {
	io.ReadCloser
	early chan<- struct{}
}

func (b *earlyReadBody) Read(p []byte) (int, error) {
	select {
	case b.early <- struct{}{}:
	default:
	}
	return b.ReadCloser.Read(p)
}

// TestUnvalidatedStreamReachesCallerAtOnce: a response whose body the
// layer does not validate (a media type without a schema, a response
// without content, bodies excluded by Options.ExcludeResponseBody) is
// returned as soon as its headers arrive, its body unread: an event
// stream or a long poll that sends a first chunk and then waits must not
// be held until it ends, or until MaxBodyBytes of it arrived.
func TestUnvalidatedStreamReachesCallerAtOnce(t *testing.T) {
	const first, rest = "data: one\n\n", "data: two\n\n"
	for _, tc := range []struct {
		name, path, contentType string
		opts                    *openapi3filter.Options
	}{
		{"event stream without schema", "/events", "text/event-stream", nil},
		{"long poll without content", "/poll", "application/json", nil},
		{"bodies excluded", "/doc", "application/json", &openapi3filter.Options{ExcludeResponseBody: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			release := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tc.contentType)
				w.WriteHeader(200)
				io.WriteString(w, first)
				w.(http.Flusher).Flush()
				select {
				case <-release:
					io.WriteString(w, rest)
				case <-r.Context().Done():
				}
			}))
			defer srv.Close()
			var released atomic.Bool
			unblock := func() {
				if released.CompareAndSwap(false, true) {
					close(release)
				}
			}
			defer unblock()

			early := make(chan struct{}, 1)
			below := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
				resp, err := srv.Client().Transport.RoundTrip(req)
				if err == nil {
					resp.Body = &earlyReadBody{resp.Body, early}
				}
				return resp, err
			})
			rt := newLayer(t, below, openapi.Config{Spec: []byte(streamSpec), Servers: []string{srv.URL}, Options: tc.opts})
			type result struct {
				resp *http.Response
				err  error
			}
			done := make(chan result, 1)
			go func() {
				req, _ := http.NewRequest(http.MethodGet, srv.URL+tc.path, nil)
				resp, err := rt.RoundTrip(req)
				done <- result{resp, err}
			}()
			var r result
			select {
			case r = <-done:
			case <-early:
				unblock() // let the held call end
				r = <-done
				if r.err == nil {
					r.resp.Body.Close()
				}
				t.Fatal("the layer read the body of a response it does not validate before returning it")
			}
			if r.err != nil {
				t.Fatal(r.err)
			}
			defer r.resp.Body.Close()
			got := make([]byte, len(first))
			if _, err := io.ReadFull(r.resp.Body, got); err != nil || string(got) != first {
				t.Fatalf("first chunk %q %v", got, err)
			}
			unblock()
			tail, err := io.ReadAll(r.resp.Body)
			if err != nil || string(tail) != rest {
				t.Fatalf("rest %q %v", tail, err)
			}
		})
	}
}

// countingBody counts the bytes read from it: an endless upstream body.
type countingBody struct {
	n      atomic.Int64
	closed atomic.Bool
}

func (b *countingBody) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	b.n.Add(int64(len(p)))
	return len(p), nil
}

func (b *countingBody) Close() error { b.closed.Store(true); return nil }

// TestValidatedBodyBoundedAndRestored: a body the layer validates is read
// at most MaxBodyBytes+1 bytes before the response is returned, and the
// caller reads exactly the upstream's bytes: a body of MaxBodyBytes is
// validated (and a violation found), one of MaxBodyBytes+1 is a violation
// in Enforce mode (it cannot be validated) and passes unvalidated in
// ReportOnly, and both read back byte for byte.
func TestValidatedBodyBoundedAndRestored(t *testing.T) {
	const max = 64
	for _, tc := range []struct {
		body       string
		violation  bool
		reportOnly bool
	}{
		{`{"a":1}` + strings.Repeat(" ", max-7), false, false},
		{`[1]` + strings.Repeat(" ", max-3), true, false},
		{`[1]` + strings.Repeat(" ", max-2), true, false}, // too large to validate
		{`[1]` + strings.Repeat(" ", max-2), false, true}, // the same, ReportOnly
	} {
		next := transporttest.NewResponder(transporttest.Respond(200, tc.body, "Content-Type", "application/json"))
		cfg := openapi.Config{Spec: []byte(streamSpec), MaxBodyBytes: max}
		if tc.reportOnly {
			cfg.Mode = openapi.ReportOnly
		}
		rt := newLayer(t, next, cfg)
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/doc", nil)
		resp, err := rt.RoundTrip(req)
		if tc.violation {
			if resp != nil || err == nil {
				t.Fatalf("%d-byte array: resp %v err %v, want a violation", len(tc.body), resp, err)
			}
			if !next.Bodies()[0].Closed() {
				t.Fatal("refused body not closed")
			}
			continue
		}
		if err != nil {
			t.Fatalf("%d bytes: %v", len(tc.body), err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || string(got) != tc.body {
			t.Fatalf("%d bytes: read back %d bytes %v", len(tc.body), len(got), err)
		}
		if !next.Bodies()[0].Closed() {
			t.Fatal("upstream body not closed")
		}
	}

	// An endless body: the layer stops after max+1 bytes and returns.
	endless := &countingBody{}
	next := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
			Body: endless, ContentLength: -1, Request: req}, nil
	})
	rt := newLayer(t, next, openapi.Config{Spec: []byte(streamSpec), Mode: openapi.ReportOnly, MaxBodyBytes: max})
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/doc", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	if n := endless.n.Load(); n > max+1+bytes.MinRead {
		t.Fatalf("read %d bytes of an endless body before returning, want about %d", n, max+1)
	}
	head := make([]byte, max+10)
	if _, err := io.ReadFull(resp.Body, head); err != nil || string(head) != strings.Repeat(" ", max+10) {
		t.Fatalf("read back %q %v", head, err)
	}
	resp.Body.Close()
	if !endless.closed.Load() {
		t.Fatal("upstream body not closed")
	}
}

// TestUnvalidatedRequestBodyNotBuffered: a request body the layer does not
// validate (the operation describes none, or Options.ExcludeRequestBody)
// is sent unread, so that a streamed upload whose producer waits for the
// response is not held until it ends, or until MaxBodyBytes of it arrived;
// a body the operation describes is still read (and bounded) first.
func TestUnvalidatedRequestBodyNotBuffered(t *testing.T) {
	const spec = `
openapi: 3.0.3
info: {title: upload, version: "1"}
servers: [{url: "https://api.example.test"}]
paths:
  /stream:
    post:
      responses:
        "200": {description: accepted}
  /doc:
    post:
      requestBody:
        content:
          application/json:
            schema: {type: object}
      responses:
        "200": {description: accepted}
`
	for _, tc := range []struct {
		name, path string
		opts       *openapi3filter.Options
		wantRead   bool
	}{
		{"operation without request body", "/stream", nil, false},
		{"request bodies excluded", "/doc", &openapi3filter.Options{ExcludeRequestBody: true}, false},
		{"described request body", "/doc", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			early := make(chan struct{}, 1)
			var readBeforeSend atomic.Bool
			next := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
				select {
				case <-early:
					readBeforeSend.Store(true)
				default:
				}
				got, err := io.ReadAll(req.Body)
				req.Body.Close()
				if err != nil || string(got) != `{"a":1}` {
					t.Errorf("sent body %q %v", got, err)
				}
				return &http.Response{StatusCode: 200, Body: http.NoBody, Request: req}, nil
			})
			rt := newLayer(t, next, openapi.Config{Spec: []byte(spec), Options: tc.opts})
			body := &earlyReadBody{io.NopCloser(strings.NewReader(`{"a":1}`)), early}
			req, _ := http.NewRequest(http.MethodPost, "https://api.example.test"+tc.path, body)
			req.Header.Set("Content-Type", "application/json")
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if readBeforeSend.Load() != tc.wantRead {
				t.Fatalf("body read before it was sent: %v, want %v", readBeforeSend.Load(), tc.wantRead)
			}
		})
	}
}
