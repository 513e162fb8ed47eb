package client_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"golang.org/x/oauth2"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/tokens"
)

// A caller's token source built on x/oauth2 (without tokens.FromOAuth2)
// fails with an *oauth2.RetrieveError whose message quotes the token
// endpoint's answer, which may echo the client secret, and an *url.Error
// naming the token URL with its query: neither secret reaches Do's error,
// the span's status or the audit record, and errors.As still finds both
// errors and errors.Is the caller's.
func TestTokenSourceErrorQuotesNoSecret(t *testing.T) {
	const bodySecret, urlSecret = "S3CRET-body-18a1", "S3CRET-query-18b2"
	srv := newTLSServer(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	re := &oauth2.RetrieveError{
		Response:         &http.Response{StatusCode: 400, Header: http.Header{}},
		Body:             []byte(`{"error":"invalid_client","error_description":"wrong client_secret ` + bodySecret + `"}`),
		ErrorCode:        "invalid_client",
		ErrorDescription: "wrong client_secret " + bodySecret,
	}
	ue := &url.Error{Op: "Post", URL: "https://idp.example/token?client_secret=" + urlSecret, Err: errors.New("EOF")}
	serr := fmt.Errorf("idp: first try %w; second try %w", ue, re)
	rec := tracetest.NewSpanRecorder()
	var audit syncBuffer
	c, err := client.New(opts(loopback(), client.WithOrigins(srv.URL), client.WithMaxAttempts(1), client.WithoutBreaker(),
		client.WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))),
		client.WithAuditLog(slog.New(slog.NewJSONHandler(&audit, nil))),
		client.WithTokenSource(tokens.SourceFunc(func(context.Context) (tokens.Token, error) { return tokens.Token{}, serr })))...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/x", nil)
	_, err = c.Do(req)
	if err == nil {
		t.Fatal("no error")
	}
	seen := []string{err.Error(), audit.String()}
	for _, s := range rec.Ended() {
		seen = append(seen, s.Status().Description)
		for _, e := range s.Events() {
			for _, a := range e.Attributes {
				seen = append(seen, a.Value.String())
			}
		}
	}
	for _, s := range seen {
		if strings.Contains(s, bodySecret) || strings.Contains(s, urlSecret) {
			t.Errorf("a secret of the token source's error is quoted: %q", s)
		}
	}
	if !strings.Contains(err.Error(), "idp: first try ") || !strings.Contains(err.Error(), "invalid_client (HTTP 400)") {
		t.Errorf("error %q: want the caller's words and the code and status", err)
	}
	if _, ok := errors.AsType[*oauth2.RetrieveError](err); !ok {
		t.Error("errors.As no longer finds the *oauth2.RetrieveError")
	}
	if _, ok := errors.AsType[*url.Error](err); !ok {
		t.Error("errors.As no longer finds the *url.Error")
	}
}
