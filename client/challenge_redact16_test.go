package client_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/tokens"
)

// The auth layer reads a 401's WWW-Authenticate challenges (and
// Accept-Signature) to decide what to do with its token; what they carry
// (a token68, a realm, a tag) and the token itself reach neither the
// error, the spans nor the audit record, whatever the verdict (token
// dropped and replayed, kept, or no new token to be had).
func TestAuthChallengeQuotesNoSecret(t *testing.T) {
	const secret, tok = "s3cr3t-challenge-3c0d", "s3cr3t-token-aa71"
	for _, tc := range []struct{ name, challenge string }{
		{"bearer invalid_token", `Bearer realm="` + secret + `", error="invalid_token", error_description="` + secret + `"`},
		{"token68 only", `Negotiate ` + secret + `==`},
		{"signature", `Signature realm="` + secret + `"`},
		{"insufficient_scope", `Bearer error="insufficient_scope", scope="` + secret + `"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("WWW-Authenticate", tc.challenge)
				w.Header().Set("Accept-Signature", `sig1=("@method");created;tag="`+secret+`"`)
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = w.Write([]byte(secret))
			}))
			var calls atomic.Int32
			src := tokens.SourceFunc(func(context.Context) (tokens.Token, error) {
				if calls.Add(1) > 1 {
					return tokens.Token{}, errors.New("token endpoint down")
				}
				return tokens.NewToken(tok, "Bearer", time.Now().Add(time.Hour)), nil
			})
			cache, err := tokens.NewCache(src)
			if err != nil {
				t.Fatal(err)
			}
			defer cache.Close()
			rec := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
			var audit syncBuffer
			c, err := client.New(opts(loopback(),
				client.WithOrigins(srv.URL), client.WithMaxAttempts(1), client.WithoutBreaker(),
				client.WithTokenSource(cache),
				client.WithTracerProvider(tp),
				client.WithAuditLog(slog.New(slog.NewJSONHandler(&audit, nil))),
			)...)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/x", nil)
			seen := []string{audit.String()}
			resp, err := c.Do(req)
			if err != nil {
				seen = append(seen, err.Error())
			} else {
				resp.Body.Close()
			}
			seen = append(seen, audit.String())
			for _, s := range rec.Ended() {
				seen = append(seen, s.Status().Description)
				for _, a := range s.Attributes() {
					seen = append(seen, string(a.Key)+"="+a.Value.String())
				}
				for _, e := range s.Events() {
					seen = append(seen, e.Name)
					for _, a := range e.Attributes {
						seen = append(seen, string(a.Key)+"="+a.Value.String())
					}
				}
			}
			if len(rec.Ended()) == 0 {
				t.Fatal("no span ended")
			}
			for _, s := range seen {
				if strings.Contains(s, secret) || strings.Contains(s, tok) {
					t.Errorf("secret in %q", s)
				}
			}
		})
	}
}
