package client_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
)

// settleGoroutines polls until the goroutine count is at most want.
func settleGoroutines(t *testing.T, want int) {
	t.Helper()
	n := 0
	for i := 0; i < 500; i++ {
		n = runtime.NumGoroutine()
		if n <= want {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	t.Errorf("goroutines: %d, want at most %d\n%s", n, want, buf)
}

func TestBodyStallEndsAtTotalTimeout(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		t.Run(map[bool]string{false: "h1", true: "h2"}[h2], func(t *testing.T) {
			release := make(chan struct{})
			srv, _ := bodyServer(t, h2, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", "100")
				w.WriteHeader(200)
				_, _ = w.Write([]byte("partial"))
				w.(http.Flusher).Flush()
				select {
				case <-release:
				case <-r.Context().Done():
				}
			}))
			defer close(release)
			c, spans := bodyClient(t, srv.URL, 300*time.Millisecond)
			resp, err := c.Do(mustReq(t, http.MethodGet, srv.URL+"/stall?token=SECRETQ"))
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(resp.Body)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("read: %q, %v; want context.DeadlineExceeded", b, err)
			}
			if strings.Contains(err.Error(), "SECRETQ") {
				t.Errorf("read error leaks the query: %v", err)
			}
			resp.Body.Close()
			resp.Body.Close()
			got := spans.GetSpans()
			if len(got) != 1 {
				t.Fatalf("spans: %d, want 1 (the call span reports the one send)", len(got))
			}
			for _, s := range got {
				if s.Status.Code != codes.Error {
					t.Errorf("span %s status %v, want Error", s.Name, s.Status)
				}
				if strings.Contains(s.Status.Description, "SECRETQ") {
					t.Errorf("span %s leaks the query: %s", s.Name, s.Status.Description)
				}
			}
		})
	}
}

func TestBodyCloseReleasesEverything(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		t.Run(map[bool]string{false: "h1", true: "h2"}[h2], func(t *testing.T) {
			payload := strings.Repeat("x", 64<<10)
			srv, conns := bodyServer(t, h2, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.WriteString(w, payload)
			}))
			c, spans := bodyClient(t, srv.URL, 30*time.Second)
			// Warm up, then take the goroutine baseline.
			resp, err := c.Do(mustReq(t, http.MethodGet, srv.URL+"/warm"))
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			spans.Reset()
			base := runtime.NumGoroutine()

			for _, mode := range []string{"full", "partial", "none", "full"} {
				resp, err := c.Do(mustReq(t, http.MethodGet, srv.URL+"/"+mode))
				if err != nil {
					t.Fatalf("%s: %v", mode, err)
				}
				switch mode {
				case "full":
					if b, err := io.ReadAll(resp.Body); err != nil || len(b) != len(payload) {
						t.Fatalf("%s: read %d, %v", mode, len(b), err)
					}
				case "partial":
					if _, err := io.ReadFull(resp.Body, make([]byte, 10)); err != nil {
						t.Fatal(err)
					}
				}
				if n := len(spans.GetSpans()); mode != "full" && n != 0 {
					t.Errorf("%s: %d spans ended before Close", mode, n)
				}
				if err := resp.Body.Close(); err != nil {
					t.Errorf("%s: Close: %v", mode, err)
				}
				if err := resp.Body.Close(); err != nil && !h2 {
					t.Logf("%s: second Close: %v", mode, err)
				}
				if n := len(spans.GetSpans()); n != 1 {
					t.Errorf("%s: %d spans after Close, want 1", mode, n)
				}
				spans.Reset()
				if resp.Request.Context().Err() == nil {
					t.Errorf("%s: resp.Request's context not canceled after Close", mode)
				}
				// Read after Close: an error, no panic.
				if _, err := resp.Body.Read(make([]byte, 8)); err == nil {
					t.Errorf("%s: Read after Close: no error", mode)
				}
			}
			// The fully read bodies kept their connection: HTTP/1.1 dialed
			// again only for the partial and the unread body.
			want := int32(3)
			if h2 {
				want = 1
			}
			if n := conns.Load(); n != want {
				t.Errorf("connections: %d, want %d", n, want)
			}
			c.HTTPClient().CloseIdleConnections()
			srv.CloseClientConnections()
			settleGoroutines(t, base)
		})
	}
}

// TestBodyDoubleCloseReleasesOneSlot: closing a body twice gives its slot
// back once: with MaxConcurrent 1, a second body still open keeps a third
// call waiting.
func TestBodyDoubleCloseReleasesOneSlot(t *testing.T) {
	srv, _ := bodyServer(t, true, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	c, _ := bodyClient(t, srv.URL, 30*time.Second)
	resp, err := c.Do(mustReq(t, http.MethodGet, srv.URL+"/a"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp.Body.Close()
	held, err := c.Do(mustReq(t, http.MethodGet, srv.URL+"/b"))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Body.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req := mustReq(t, http.MethodGet, srv.URL+"/c")
	resp3, err := c.Do(req.WithContext(ctx))
	if err == nil {
		resp3.Body.Close()
		t.Fatal("a third call got a slot while the second body is open: the double Close gave two slots back")
	}
}

func TestBodyConcurrentReadClose(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		t.Run(map[bool]string{false: "h1", true: "h2"}[h2], func(t *testing.T) {
			srv, _ := bodyServer(t, h2, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for i := 0; i < 100; i++ {
					if _, err := io.WriteString(w, strings.Repeat("y", 1024)); err != nil {
						return
					}
					w.(http.Flusher).Flush()
				}
			}))
			c, spans := bodyClient(t, srv.URL, 30*time.Second)
			for i := 0; i < 20; i++ {
				resp, err := c.Do(mustReq(t, http.MethodGet, srv.URL+"/"))
				if err != nil {
					t.Fatal(err)
				}
				var wg sync.WaitGroup
				wg.Add(2)
				go func() { defer wg.Done(); _, _ = io.Copy(io.Discard, resp.Body) }()
				go func() { defer wg.Done(); resp.Body.Close() }()
				wg.Wait()
				resp.Body.Close()
			}
			if n := len(spans.GetSpans()); n != 20 {
				t.Errorf("spans: %d, want 20", n)
			}
		})
	}
}

// rawServer answers every request on a hijacked HTTP/1.1 connection with
// raw.
func rawServer(t *testing.T, raw string) *httptest.Server {
	srv, _ := bodyServer(t, false, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, bw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = bw.WriteString(raw)
		_ = bw.Flush()
		_, _ = bufio.NewReader(conn).ReadByte() // until the client hangs up or the write finishes
	}))
	return srv
}

func TestBodyErrorMidStream(t *testing.T) {
	cases := map[string]string{
		"short":   "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nContent-Type: text/plain\r\n\r\nonly ten b",
		"chunked": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n5\r\nhello\r\nzz\r\n",
	}
	for name, raw := range cases {
		t.Run(name, func(t *testing.T) {
			srv := rawServer(t, raw)
			if name == "short" {
				// The server hangs up after the ten bytes.
				srv.Close()
				srv = rawServerClosing(t, raw)
			}
			c, spans := bodyClient(t, srv.URL, 30*time.Second)
			resp, err := c.Do(mustReq(t, http.MethodGet, srv.URL+"/x?token=SECRETQ"))
			if err != nil {
				t.Fatal(err)
			}
			_, err = io.ReadAll(resp.Body)
			if err == nil {
				t.Fatal("read: no error")
			}
			if strings.Contains(err.Error(), "SECRETQ") {
				t.Errorf("read error leaks the query: %v", err)
			}
			resp.Body.Close()
			got := spans.GetSpans()
			if len(got) != 1 {
				t.Fatalf("spans: %d, want 1 (the call span reports the one send)", len(got))
			}
			for _, s := range got {
				if s.Status.Code != codes.Error {
					t.Errorf("span %s status %v, want Error (read error %v)", s.Name, s.Status, err)
				}
				for _, a := range s.Attributes {
					if strings.Contains(a.Value.String(), "SECRETQ") {
						t.Errorf("span %s attribute %s leaks the query", s.Name, a.Key)
					}
				}
				t.Logf("span %s: %v %v", s.Name, s.Status, s.Attributes)
			}
		})
	}
}

func rawServerClosing(t *testing.T, raw string) *httptest.Server {
	srv, _ := bodyServer(t, false, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, bw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		_, _ = bw.WriteString(raw)
		_ = bw.Flush()
		conn.Close()
	}))
	return srv
}

func TestBodyEmptyResponsesRelease(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		t.Run(map[bool]string{false: "h1", true: "h2"}[h2], func(t *testing.T) {
			srv, _ := bodyServer(t, h2, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch r.URL.Path {
				case "/204":
					w.WriteHeader(http.StatusNoContent)
				case "/304":
					w.WriteHeader(http.StatusNotModified)
				default:
					w.Header().Set("Content-Length", "5")
					_, _ = io.WriteString(w, "hello")
				}
			}))
			c, spans := bodyClient(t, srv.URL, 30*time.Second)
			for _, tc := range []struct{ method, path string }{{"HEAD", "/"}, {"GET", "/204"}, {"GET", "/304"}} {
				resp, err := c.Do(mustReq(t, tc.method, srv.URL+tc.path))
				if err != nil {
					t.Fatalf("%s %s: %v", tc.method, tc.path, err)
				}
				if b, err := io.ReadAll(resp.Body); err != nil || len(b) != 0 {
					t.Errorf("%s %s: body %q, %v", tc.method, tc.path, b, err)
				}
				t.Logf("%s %s: body %T, spans before Close %d", tc.method, tc.path, resp.Body, len(spans.GetSpans()))
				resp.Body.Close()
				if n := len(spans.GetSpans()); n != 1 {
					t.Errorf("%s %s: spans %d after Close, want 1", tc.method, tc.path, n)
				}
				spans.Reset()
			}
		})
	}
}
