package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/securecall/securecall/client"
)

// net/http's HTTP/2 refusal of a request target that is no valid :path (a
// hand-set absolute-form URL.Opaque with a query and no path) is the
// request's fault, as every other HTTP/2 header refusal is: it was an
// unknown error, retried (three attempts, each refused the same way) and
// counted against the host's breaker. It is ErrInvalidRequest, one attempt.
func TestHTTP2InvalidPathIsInvalidRequest(t *testing.T) {
	srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	var logs bytes.Buffer
	c, err := client.New(opts(loopback(), client.WithOrigins(srv.URL), client.WithAuditLog(slog.New(slog.NewJSONHandler(&logs, nil))))...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.URL.Opaque = "//" + strings.TrimPrefix(srv.URL, "https://") + "?q=1"
	resp, err := c.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatal("no error; the test needs net/http's HTTP/2 refusal of the :path")
	}
	if !errors.Is(err, client.ErrInvalidRequest) {
		t.Errorf("err = %v, want one matching ErrInvalidRequest", err)
	}
	var rec struct {
		Attempts int `json:"securecall.attempts"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(logs.Bytes()), &rec); err != nil {
		t.Fatalf("audit record %q: %v", logs.String(), err)
	}
	if rec.Attempts != 1 {
		t.Errorf("%d attempts, want 1 (nothing to retry)", rec.Attempts)
	}
}
