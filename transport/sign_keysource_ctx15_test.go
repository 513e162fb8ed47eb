package transport_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// endpointKeys is a signer.KeySource that fetches its key from a key
// service (a secret manager) over rt on every call, as a KeySource backed
// by an HTTP store does.
type endpointKeys struct {
	rt  http.RoundTripper
	key *signer.Key
}

func (k *endpointKeys) SigningKey(ctx context.Context) (*signer.Key, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://keys.example.test/v1/signing-key", nil)
	if err != nil {
		return nil, err
	}
	resp, err := k.rt.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return k.key, nil
}

// The sign layer handed its KeySource the attempt's own context, while
// the auth and API-key layers hand their token sources the attempt's
// context without the attempt and the call's state (detach): a KeySource
// that fetches its key over a stack of this package's layers (a secret
// manager's client: an attempt scope, its bearer auth and an attempt
// trace, no call trace of its own) found the API call's scope and record,
// so its attempt trace counted the key request as a send of the API call
// (securecall.attempts 2 for a call answered at the first try; it may take
// the call span as its own first send too) and its auth layer marked the
// API call as sent with a bearer token, which it was not.
func TestSignKeySourceGetsDetachedContext(t *testing.T) {
	var log auditLog
	tc := transport.TraceConfig{}
	key, err := signer.NewHMACKey("k1", bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	keyService := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Body: http.NoBody, Request: req}, nil
	})
	bearer, err := transport.NewAuth(transport.NewAttemptTrace(keyService, tc), transport.AuthConfig{
		Source: tokens.SourceFunc(func(context.Context) (tokens.Token, error) {
			return tokens.NewToken("kt", "Bearer", time.Now().Add(time.Hour)), nil
		}),
		Scope: mustOrigins(t, "https://keys.example.test"),
	})
	if err != nil {
		t.Fatal(err)
	}
	s, err := signer.New(signer.Options{Keys: &endpointKeys{rt: transport.NewAttemptScope(bearer), key: key}})
	if err != nil {
		t.Fatal(err)
	}
	api := transporttest.NewResponder(transporttest.Respond(200, "ok"))
	sign, err := transport.NewSign(transport.NewAttemptTrace(api, tc), transport.SignConfig{Signer: s, Scope: mustOrigins(t, "https://api.example.test")})
	if err != nil {
		t.Fatal(err)
	}
	rt := newRetry(t, sign, transport.RetryConfig{MaxAttempts: 1})
	rt = transport.NewCallTrace(auditLayer(t, rt, transport.AuditConfig{Logger: slog.New(slog.NewJSONHandler(&log, nil))}), tc)
	resp, err := resGet(t, t.Context(), rt)
	if err != nil {
		t.Fatal(err)
	}
	resReadAll(t, resp)
	r := log.records(t)[0]
	if r["securecall.attempts"] != float64(1) {
		t.Errorf("securecall.attempts = %v, want 1 (the key request was counted as a send of the API call)", r["securecall.attempts"])
	}
	if r["securecall.auth"] != "hmac" {
		t.Errorf("securecall.auth = %v, want hmac (the key request's bearer token was marked on the API call)", r["securecall.auth"])
	}
}
