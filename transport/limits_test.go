package transport_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

func limitsLayer(t *testing.T, next http.RoundTripper, cfg transport.LimitsConfig) http.RoundTripper {
	t.Helper()
	rt, err := transport.NewLimits(next, cfg)
	if err != nil {
		t.Fatalf("NewLimits: %v", err)
	}
	return rt
}

func TestLimitsConformance(t *testing.T) {
	transporttest.Conformance(t, func(next http.RoundTripper) http.RoundTripper {
		return limitsLayer(t, next, transport.LimitsConfig{})
	})
}

func TestLimitsConformanceWithMediaTypes(t *testing.T) {
	transporttest.Conformance(t, func(next http.RoundTripper) http.RoundTripper {
		return limitsLayer(t, next, transport.LimitsConfig{MaxBodyBytes: 4 << 20, MediaTypes: []string{"*/*"}})
	})
}

func limitsGet(t *testing.T, rt http.RoundTripper, method string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequest(method, "https://api.example.test/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	return rt.RoundTrip(req)
}

func TestLimitsBody(t *testing.T) {
	const limit = 1000
	for _, tc := range []struct {
		name      string
		size      int
		chunked   bool // ContentLength -1, as after transparent decompression
		wantErrRT bool // refused by RoundTrip (declared too large)
		wantErr   bool // error while reading
	}{
		{"under", limit - 1, false, false, false},
		{"exactly", limit, false, false, false},
		{"exactly chunked", limit, true, false, false},
		{"declared over", limit + 1, false, true, false},
		{"over chunked by one", limit + 1, true, false, true},
		{"far over chunked", 10 * limit, true, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			payload := bytes.Repeat([]byte("a"), tc.size)
			tb := transporttest.NewTrackedBody(payload)
			next := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
				cl := int64(tc.size)
				if tc.chunked {
					cl = -1
				}
				return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/plain"}}, Body: tb, ContentLength: cl, Request: req}, nil
			})
			resp, err := limitsGet(t, limitsLayer(t, next, transport.LimitsConfig{MaxBodyBytes: limit}), http.MethodGet)
			if tc.wantErrRT {
				var te *transport.ResponseTooLargeError
				if resp != nil || !errors.As(err, &te) || te.Part != "body" || te.Size != int64(tc.size) || te.Limit != limit {
					t.Fatalf("resp %v err %v, want a body *ResponseTooLargeError with the declared size", resp, err)
				}
				if !tb.Closed() {
					t.Fatal("refused body not closed")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if tc.wantErr {
				if !errors.Is(err, transport.ErrResponseTooLarge) {
					t.Fatalf("read err = %v, want ErrResponseTooLarge (never a silent truncation)", err)
				}
				if len(got) != limit {
					t.Fatalf("read %d bytes before the error, want exactly %d", len(got), limit)
				}
				// The error is sticky.
				if _, err := resp.Body.Read(make([]byte, 10)); !errors.Is(err, transport.ErrResponseTooLarge) {
					t.Fatalf("second read: %v", err)
				}
				return
			}
			if err != nil || len(got) != tc.size {
				t.Fatalf("read %d bytes, err %v; want %d, nil", len(got), err, tc.size)
			}
			if !tb.Closed() {
				t.Fatal("body not closed")
			}
		})
	}
}

// TestLimitsBodyMaxInt64: a limit of math.MaxInt64 ("effectively none")
// must read the body normally; computing the read size as limit+1 used to
// overflow and panic with a negative slice bound.
func TestLimitsBodyMaxInt64(t *testing.T) {
	tb := transporttest.NewTrackedBody([]byte("hello"))
	next := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Header: http.Header{}, Body: tb, ContentLength: -1, Request: req}, nil
	})
	resp, err := limitsGet(t, limitsLayer(t, next, transport.LimitsConfig{MaxBodyBytes: math.MaxInt64}), http.MethodGet)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(got) != "hello" {
		t.Fatalf("read %q, %v; want hello, nil", got, err)
	}
}

// TestLimitsCompressedBomb: the server sends a small gzip body that
// expands to 8 MiB; net/http decompresses it transparently, and the limit
// applies to the decoded stream the caller reads.
func TestLimitsCompressedBomb(t *testing.T) {
	const decoded = 8 << 20
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(make([]byte, decoded))
	zw.Close()
	compressed := gz.Bytes()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			t.Errorf("transport did not ask for gzip")
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(compressed)
	}))
	defer srv.Close()
	if len(compressed) > 64<<10 {
		t.Fatalf("compressed size %d: test assumes a small body", len(compressed))
	}
	const limit = 1 << 20
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	rt := limitsLayer(t, tr, transport.LimitsConfig{MaxBodyBytes: limit})
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatalf("RoundTrip: %v (the compressed size is under the limit)", err)
	}
	defer resp.Body.Close()
	if !resp.Uncompressed {
		t.Fatal("net/http did not decompress transparently")
	}
	n, err := io.Copy(io.Discard, resp.Body)
	if !errors.Is(err, transport.ErrResponseTooLarge) || n != limit {
		t.Fatalf("read %d bytes, err %v; want %d and ErrResponseTooLarge", n, err, limit)
	}
}

func TestLimitsHeader(t *testing.T) {
	big := strings.Repeat("v", 2000)
	next := transporttest.NewResponder(transporttest.Respond(200, "small body", "X-Big", big, "Content-Type", "text/plain"))
	rt := limitsLayer(t, next, transport.LimitsConfig{MaxHeaderBytes: 1024})
	resp, err := limitsGet(t, rt, http.MethodGet)
	var te *transport.ResponseTooLargeError
	if resp != nil || !errors.As(err, &te) || te.Part != "header" || te.Size <= 1024 {
		t.Fatalf("resp %v err %v, want a header *ResponseTooLargeError", resp, err)
	}
	if b := next.Bodies()[0]; !b.Closed() || !b.Drained() {
		t.Fatal("refused response not drained and closed")
	}
	// The same response passes a larger limit.
	next2 := transporttest.NewResponder(transporttest.Respond(200, "small body", "X-Big", big))
	resp, err = limitsGet(t, limitsLayer(t, next2, transport.LimitsConfig{MaxHeaderBytes: 4096}), http.MethodGet)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

func TestLimitsHeadIgnoresDeclaredLength(t *testing.T) {
	next := transporttest.NewResponder(transporttest.Respond(200, "", "Content-Length", "999999999", "Content-Type", "application/octet-stream"))
	rt := limitsLayer(t, next, transport.LimitsConfig{MaxBodyBytes: 10, MediaTypes: []string{"application/json"}})
	resp, err := limitsGet(t, rt, http.MethodHead)
	if err != nil {
		t.Fatalf("HEAD: %v", err)
	}
	resp.Body.Close()
}

func TestLimitsMediaTypes(t *testing.T) {
	allow := []string{"application/json", "application/*+json", "text/*"}
	for _, tc := range []struct {
		ct     string
		status int
		body   string
		ok     bool
	}{
		{"application/json", 200, "{}", true},
		{"Application/JSON; charset=utf-8", 200, "{}", true},
		{"application/problem+json", 400, "{}", true},
		{"application/vnd.api+json", 200, "{}", true},
		{"text/plain", 200, "x", true},
		{"text/html; charset=utf-8", 502, "<html>", true},
		{"application/xml", 200, "<x/>", false},
		{"application/+json", 200, "{}", false},
		{"application/jsonp", 200, "x", false},
		{"image/svg+xml", 200, "<svg/>", false},
		{"", 200, "x", false},
		{"garbage", 200, "x", false},
		{"", 204, "", true},
		{"application/xml", 200, "", true}, // Content-Length: 0
		{"application/xml", 307, "<moved/>", true},
		{"application/xml", 300, "<choices/>", false}, // no Location
	} {
		t.Run(tc.ct+"/"+http.StatusText(tc.status), func(t *testing.T) {
			var hdr []string
			if tc.ct != "" {
				hdr = []string{"Content-Type", tc.ct}
			}
			if tc.status == 307 {
				hdr = append(hdr, "Location", "https://api.example.test/elsewhere")
			}
			next := transporttest.NewResponder(transporttest.Respond(tc.status, tc.body, hdr...))
			resp, err := limitsGet(t, limitsLayer(t, next, transport.LimitsConfig{MediaTypes: allow}), http.MethodGet)
			if tc.ok {
				if err != nil {
					t.Fatalf("err = %v, want allowed", err)
				}
				resp.Body.Close()
				return
			}
			var me *transport.MediaTypeError
			if resp != nil || !errors.As(err, &me) || !errors.Is(err, transport.ErrMediaTypeDenied) || me.StatusCode != tc.status {
				t.Fatalf("resp %v err %v, want *MediaTypeError", resp, err)
			}
			if transport.ErrorType(err) != "media_type_denied" {
				t.Fatalf("ErrorType = %q", transport.ErrorType(err))
			}
			if b := next.Bodies()[0]; !b.Closed() {
				t.Fatal("refused body not closed")
			}
		})
	}
}

func TestLimitsConfigErrors(t *testing.T) {
	for i, s := range []string{"json", "application/", "*/json", "application/*+", "appl ication/json", "application/js;on"} {
		_, err := transport.NewLimits(nil, transport.LimitsConfig{MediaTypes: []string{"application/json", s}})
		var ce *transport.ConfigError
		if !errors.As(err, &ce) || ce.Option != "MediaTypes[1]" {
			t.Errorf("%d %q: err = %v, want *ConfigError MediaTypes[1]", i, s, err)
		}
	}
}

func TestLimitsNoLimit(t *testing.T) {
	payload := bytes.Repeat([]byte("z"), limitsDefaultBody+1)
	next := transporttest.NewResponder(transporttest.Respond(200, string(payload)))
	resp, err := limitsGet(t, limitsLayer(t, next, transport.LimitsConfig{MaxBodyBytes: -1, MaxHeaderBytes: -1}), http.MethodGet)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || n != int64(len(payload)) {
		t.Fatalf("read %d, %v", n, err)
	}
	// And the default limit applies when zero.
	next = transporttest.NewResponder(transporttest.Respond(200, string(payload)))
	if _, err := limitsGet(t, limitsLayer(t, next, transport.LimitsConfig{}), http.MethodGet); !errors.Is(err, transport.ErrResponseTooLarge) {
		t.Fatalf("default limit: err = %v", err)
	}
}

const limitsDefaultBody = transport.DefaultMaxResponseBodyBytes
