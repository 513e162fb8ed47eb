package transport_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/securecall/securecall/transport"
)

// trailerFiller is a request body that fills its request's declared
// trailer when it reaches EOF, as net/http allows a client to ("After the
// HTTP request is sent the map values can be updated while the request
// body is read").
type trailerFiller struct {
	r   io.Reader
	req *http.Request
	val string
}

func (b *trailerFiller) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF {
		b.req.Trailer.Set("X-Sum", b.val)
	}
	return n, err
}

func (b *trailerFiller) Close() error { return nil }

// A trailer value the caller's body fills while it is read reaches the
// server on every attempt, through the retry layer and through an attempt
// scope: each attempt's copy of the trailer is taken before the body is
// read, and without the values filled at EOF it went out empty.
func TestAttemptSendsTrailerFilledWhileBodyIsRead(t *testing.T) {
	var calls atomic.Int32
	got := make(chan string, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		got <- r.Trailer.Get("X-Sum")
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()

	retry, err := transport.NewRetry(srv.Client().Transport, transport.RetryConfig{Backoff: resFixedBackoff(0)})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		rt       http.RoundTripper
		attempts int
	}{
		{"retry", retry, 2},
		{"attempt scope", transport.NewAttemptScope(srv.Client().Transport), 1},
	} {
		calls.Store(0)
		req, err := http.NewRequest(http.MethodPut, srv.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Body = &trailerFiller{r: strings.NewReader("hello"), req: req, val: "first"}
		req.GetBody = func() (io.ReadCloser, error) {
			return &trailerFiller{r: strings.NewReader("hello"), req: req, val: "again"}, nil
		}
		req.ContentLength = -1
		req.Trailer = http.Header{"X-Sum": nil}
		resp, err := tc.rt.RoundTrip(req)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		_ = resp.Body.Close()
		want := []string{"first", "again"}[:tc.attempts]
		for i, w := range want {
			if s := <-got; s != w {
				t.Errorf("%s: attempt %d sent trailer X-Sum %q, want %q", tc.name, i, s, w)
			}
		}
	}
}
