package transport_test

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"syscall"
	"testing"
	"time"

	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
)

func resStatus(code int, hdr ...string) *http.Response {
	h := http.Header{}
	for i := 0; i < len(hdr); i += 2 {
		h.Add(hdr[i], hdr[i+1])
	}
	return &http.Response{StatusCode: code, Header: h, Body: http.NoBody}
}

func TestClassifyStatus(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		resp      *http.Response
		class     transport.Class
		breaker   transport.BreakerOutcome
		throttled bool
		wait      time.Duration
		hasWait   bool
	}{
		{resStatus(200), transport.ClassSuccess, transport.BreakerSuccess, false, 0, false},
		{resStatus(304), transport.ClassSuccess, transport.BreakerSuccess, false, 0, false},
		{resStatus(400), transport.ClassSuccess, transport.BreakerSuccess, false, 0, false},
		{resStatus(404), transport.ClassSuccess, transport.BreakerSuccess, false, 0, false},
		{resStatus(409), transport.ClassSuccess, transport.BreakerSuccess, false, 0, false},
		{resStatus(408), transport.ClassRetryableStatus, transport.BreakerSuccess, false, 0, false},
		{resStatus(425), transport.ClassRetryableStatus, transport.BreakerSuccess, false, 0, false},
		{resStatus(429), transport.ClassRetryableStatus, transport.BreakerExcluded, true, 0, false},
		{resStatus(429, "Retry-After", "3"), transport.ClassRetryableStatus, transport.BreakerExcluded, true, 3 * time.Second, true},
		{resStatus(500), transport.ClassRetryableStatus, transport.BreakerFailure, false, 0, false},
		{resStatus(501), transport.ClassSuccess, transport.BreakerSuccess, false, 0, false},
		{resStatus(502), transport.ClassRetryableStatus, transport.BreakerFailure, false, 0, false},
		{resStatus(503), transport.ClassRetryableStatus, transport.BreakerFailure, false, 0, false},
		{resStatus(503, "Retry-After", "5"), transport.ClassRetryableStatus, transport.BreakerFailure, true, 5 * time.Second, true},
		{resStatus(504), transport.ClassRetryableStatus, transport.BreakerFailure, false, 0, false},
		{resStatus(200, "RateLimit", `"q";r=0;t=8`), transport.ClassSuccess, transport.BreakerSuccess, true, 8 * time.Second, true},
		{resStatus(200, "RateLimit", `"q";r=3;t=8`), transport.ClassSuccess, transport.BreakerSuccess, false, 0, false},
		// Retry-After on a success is not a throttle: a 200 never asks
		// the client to wait.
		{resStatus(200, "Retry-After", "8"), transport.ClassSuccess, transport.BreakerSuccess, false, 0, false},
	}
	for _, tc := range tests {
		v := transport.Classify(ctx, tc.resp, nil, raNow)
		if v.Class != tc.class || v.Breaker != tc.breaker || v.Throttled != tc.throttled || v.Wait != tc.wait || v.HasWait != tc.hasWait || v.Status != tc.resp.StatusCode {
			t.Errorf("%d %v: got %+v; want class %v breaker %v throttled %v wait %v/%v",
				tc.resp.StatusCode, tc.resp.Header, v, tc.class, tc.breaker, tc.throttled, tc.wait, tc.hasWait)
		}
	}
}

// fakeH2StreamError behaves like net/http's bundled HTTP/2 StreamError:
// its As method copies its fields into any struct with the same field
// names and convertible types (the mechanism that lets callers use
// x/net/http2's StreamError type with errors.As).
type fakeH2StreamError struct {
	StreamID uint32
	Code     fakeH2ErrCode
	Cause    error
}

type fakeH2ErrCode uint32

func (e fakeH2StreamError) Error() string {
	return fmt.Sprintf("stream error: stream ID %d; %d", e.StreamID, e.Code)
}

func (e fakeH2StreamError) As(target any) bool {
	dst := reflect.ValueOf(target).Elem()
	src := reflect.ValueOf(e)
	if dst.Kind() != reflect.Struct || dst.NumField() != src.NumField() {
		return false
	}
	for i := range src.NumField() {
		sf, df := src.Type().Field(i), dst.Type().Field(i)
		if sf.Name != df.Name || !sf.Type.ConvertibleTo(df.Type) {
			return false
		}
	}
	for i := range src.NumField() {
		dst.Field(i).Set(src.Field(i).Convert(dst.Field(i).Type()))
	}
	return true
}

// refusedDialError returns the error of a real connection attempt to a
// loopback port nobody listens on.
func refusedDialError(t *testing.T) error {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/", nil)
	resp, err := tr.RoundTrip(req)
	if err == nil {
		resp.Body.Close()
		t.Fatal("dial to a closed port succeeded")
	}
	return err
}

func TestClassifyError(t *testing.T) {
	bg := context.Background()
	canceled, cancel := context.WithCancel(bg)
	cancel()
	dial := func(inner error) error { return &net.OpError{Op: "dial", Net: "tcp", Err: inner} }
	tests := []struct {
		name    string
		ctx     context.Context
		err     error
		class   transport.Class
		breaker transport.BreakerOutcome
	}{
		{"caller canceled", canceled, context.Canceled, transport.ClassCanceled, transport.BreakerExcluded},
		{"caller canceled, transport error", canceled, io.ErrUnexpectedEOF, transport.ClassCanceled, transport.BreakerExcluded},
		{"connection refused (real)", bg, refusedDialError(t), transport.ClassNeverSent, transport.BreakerFailure},
		{"dial timeout", bg, dial(errors.New("i/o timeout")), transport.ClassNeverSent, transport.BreakerFailure},
		{"dial below proxyconnect", bg, &net.OpError{Op: "proxyconnect", Net: "tcp", Err: dial(syscall.EHOSTUNREACH)}, transport.ClassNeverSent, transport.BreakerFailure},
		{"temporary DNS failure", bg, dial(&net.DNSError{Err: "server misbehaving", Name: "api.example.test", IsTemporary: true}), transport.ClassNeverSent, transport.BreakerFailure},
		{"no such host", bg, dial(&net.DNSError{Err: "no such host", Name: "api.example.test", IsNotFound: true}), transport.ClassPermanent, transport.BreakerFailure},
		{"h2 REFUSED_STREAM", bg, fmt.Errorf("wrapped: %w", fakeH2StreamError{StreamID: 3, Code: 7}), transport.ClassNeverSent, transport.BreakerFailure},
		{"h2 INTERNAL_ERROR", bg, fakeH2StreamError{StreamID: 3, Code: 2}, transport.ClassAmbiguous, transport.BreakerFailure},
		{"reset", bg, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, transport.ClassAmbiguous, transport.BreakerFailure},
		{"unexpected EOF", bg, io.ErrUnexpectedEOF, transport.ClassAmbiguous, transport.BreakerFailure},
		{"attempt timeout", bg, &transport.AttemptTimeoutError{Timeout: time.Second, Err: context.DeadlineExceeded}, transport.ClassAmbiguous, transport.BreakerFailure},
		{"unknown", bg, errors.New("something odd"), transport.ClassAmbiguous, transport.BreakerFailure},
		{"certificate", bg, &url.Error{Op: "Get", URL: "https://x", Err: x509.UnknownAuthorityError{}}, transport.ClassPermanent, transport.BreakerExcluded},
		{"pin mismatch", bg, fmt.Errorf("tls: %w", transport.ErrPinMismatch), transport.ClassPermanent, transport.BreakerExcluded},
		{"egress denied", bg, fmt.Errorf("x: %w", transport.ErrEgressDenied), transport.ClassPermanent, transport.BreakerExcluded},
		{"circuit open", bg, &transport.CircuitOpenError{Host: "h"}, transport.ClassPermanent, transport.BreakerExcluded},
		{"rate limited", bg, &transport.RateLimitError{Host: "h", Reason: transport.ThrottleRate}, transport.ClassPermanent, transport.BreakerExcluded},
		{"not replayable", bg, transport.ErrNotReplayable, transport.ClassPermanent, transport.BreakerExcluded},
		{"dead grant", bg, &transport.AuthError{Layer: "auth", Err: tokens.ErrInvalidGrant}, transport.ClassPermanent, transport.BreakerExcluded},
		{"token endpoint down", bg, &transport.AuthError{Layer: "auth", Err: errors.New("token endpoint: 502")}, transport.ClassNeverSent, transport.BreakerExcluded},
	}
	for _, tc := range tests {
		v := transport.Classify(tc.ctx, nil, tc.err, raNow)
		if v.Class != tc.class || v.Breaker != tc.breaker {
			t.Errorf("%s (%v): got %v/%v, want %v/%v", tc.name, tc.err, v.Class, v.Breaker, tc.class, tc.breaker)
		}
	}
}

func TestHostKey(t *testing.T) {
	tests := map[string]string{
		"https://API.Example.com/x":        "api.example.com",
		"https://api.example.com:443/x":    "api.example.com",
		"http://api.example.com:80/":       "api.example.com",
		"https://api.example.com:8443/":    "api.example.com:8443",
		"http://api.example.com:443/":      "api.example.com:443",
		"https://[2001:db8::1]:443/":       "[2001:db8::1]",
		"https://[2001:db8::1]/":           "[2001:db8::1]",
		"https://[2001:db8::1]:9443/":      "[2001:db8::1]:9443",
		"https://api.example.com:/":        "api.example.com",
		"https://user:pw@api.example.com/": "api.example.com",
	}
	for in, want := range tests {
		u, err := url.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := transport.HostKey(u); got != want {
			t.Errorf("HostKey(%s) = %q, want %q", in, got, want)
		}
	}
	u, _ := url.Parse("https://api.example.com/x")
	if n := testing.AllocsPerRun(100, func() { transport.HostKey(u) }); n != 0 {
		t.Errorf("HostKey allocates %v times", n)
	}
}
