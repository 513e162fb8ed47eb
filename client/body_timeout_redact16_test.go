package client_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
)

// syncBuffer is a bytes.Buffer safe for the audit handler and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A body read cut by the client's own timeout (*transport.BodyTimeoutError)
// names the timeout only: the secrets of the call (a query value, the API
// key the client puts in the query) reach neither the error, nor a span's
// status, attributes or events, nor the audit record.
func TestBodyTimeoutQuotesNoSecret(t *testing.T) {
	const secret, key = "s3cr3t-qv-body-7d2c", "s3cr3t-key-body-41aa"
	for _, h2 := range []bool{false, true} {
		for _, o := range []struct {
			name string
			o    []client.Option
		}{
			{"total", []client.Option{client.WithTimeout(300 * time.Millisecond), client.WithAttemptTimeout(0)}},
			{"attempt", []client.Option{client.WithTimeout(5 * time.Second), client.WithAttemptTimeout(300 * time.Millisecond)}},
		} {
			t.Run(fmt.Sprintf("h2=%v/%s", h2, o.name), func(t *testing.T) {
				srv := newStallServer(t, h2)
				rec := tracetest.NewSpanRecorder()
				tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
				var audit syncBuffer
				c, err := client.New(opts(loopback(), append([]client.Option{
					client.WithOrigins(srv.URL), client.WithMaxAttempts(1), client.WithoutBreaker(),
					client.WithTracerProvider(tp),
					client.WithAuditLog(slog.New(slog.NewJSONHandler(&audit, nil))),
					client.WithAPIKeyInQuery("api_key", tokens.Static(tokens.NewToken(key, "", time.Time{}))),
				}, o.o...)...)...)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				err = readStalledCut(t, c, 0, srv.URL+"/x?q="+secret)
				if _, ok := errors.AsType[*transport.BodyTimeoutError](err); !ok {
					t.Fatalf("read error %T %v: want a *transport.BodyTimeoutError", err, err)
				}
				var seen []string
				seen = append(seen, err.Error(), audit.String())
				for _, s := range rec.Ended() {
					seen = append(seen, s.Status().Description)
					for _, a := range s.Attributes() {
						seen = append(seen, string(a.Key)+"="+a.Value.String())
					}
					for _, e := range s.Events() {
						for _, a := range e.Attributes {
							seen = append(seen, string(a.Key)+"="+a.Value.String())
						}
					}
				}
				if len(rec.Ended()) == 0 {
					t.Fatal("no span ended")
				}
				for _, s := range seen {
					if strings.Contains(s, secret) || strings.Contains(s, key) {
						t.Errorf("secret in %q", s)
					}
				}
			})
		}
	}
}
