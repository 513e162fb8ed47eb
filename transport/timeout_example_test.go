package transport_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/securecall/securecall/transport"
)

// A server sends its headers and part of the body, then stalls. The
// stack's own total timeout cuts the read with a *BodyTimeoutError naming
// it; the caller's own deadline cuts it with net/http's plain context
// error, so the two can be told apart. Both match
// context.DeadlineExceeded.
func ExampleBodyTimeoutError() {
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"items":[`)
		w.(http.Flusher).Flush()
		select { // stall until the client goes away
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	defer srv.Close()
	defer close(stop)
	base := &http.Transport{}
	defer base.CloseIdleConnections()

	read := func(ctx context.Context, total time.Duration) error {
		rt, err := transport.NewTotalTimeout(base, total)
		if err != nil {
			return err
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v1/items", nil)
		resp, err := rt.RoundTrip(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, err = io.ReadAll(resp.Body)
		return err
	}

	// The stack's timeout (client.WithTimeout) runs out mid-body.
	err := read(context.Background(), 500*time.Millisecond)
	var bte *transport.BodyTimeoutError
	if errors.As(err, &bte) {
		fmt.Println("layer:", bte.Layer, "duration:", bte.Duration)
	}
	fmt.Println("deadline exceeded:", errors.Is(err, context.DeadlineExceeded))

	// The caller's own deadline runs out first.
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	err = read(ctx, time.Minute)
	fmt.Println("caller's deadline, BodyTimeoutError:", errors.As(err, &bte),
		"deadline exceeded:", errors.Is(err, context.DeadlineExceeded))
	// Output:
	// layer: total duration: 500ms
	// deadline exceeded: true
	// caller's deadline, BodyTimeoutError: false deadline exceeded: true
}
