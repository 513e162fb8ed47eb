package transport_test

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// A request that was never sent (the dial was refused) but whose body has
// no GetBody cannot be retried (the failed attempt may have consumed or
// closed its body); the server certainly never saw it, so the error must
// not say it "may have been processed" (ErrNotReplayable, StopNotReplayable).
func TestReview7NeverSentBodyWithoutGetBody(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
		next := transporttest.NewResponder(transporttest.Fail(refused))
		rt := newRetry(t, next, transport.RetryConfig{})
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, resURL, io.NopCloser(strings.NewReader("data")))
		_, err := rt.RoundTrip(req)
		var re *transport.RetryError
		if !errors.As(err, &re) || re.Reason != transport.StopNotSent || re.Attempts != 1 {
			t.Fatalf("err %v, want a *RetryError with Reason %q", err, transport.StopNotSent)
		}
		if errors.Is(err, transport.ErrNotReplayable) {
			t.Errorf("err %v matches ErrNotReplayable (\"may have been processed\") for a request never sent", err)
		}
		if !errors.Is(err, syscall.ECONNREFUSED) || !strings.Contains(err.Error(), "not sent") {
			t.Errorf("err %v: want the dial error and \"not sent\"", err)
		}
		if c := strings.Count(err.Error(), "not sent"); c != 1 {
			t.Errorf("err %q says \"not sent\" %d times, want once", err, c)
		}
		if next.Calls() != 1 {
			t.Errorf("%d attempts, want 1", next.Calls())
		}
	})
}
