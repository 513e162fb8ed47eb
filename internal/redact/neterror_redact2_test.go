package redact

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
)

// A URL built by hand with userinfo in its Host makes net/http dial the
// userinfo: the lookup's *net.DNSError (or, for a bracketed host, the
// *net.AddrError) quotes the password, with or without the *url.Error
// http.Client adds above. Error must rewrite it and keep the net error
// reachable with its classification.
func TestErrorRedactsUserinfoInNetErrors(t *testing.T) {
	dns := &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{
		Err: "no such host", Name: "user:" + secret + "@api.example.com", IsNotFound: true,
	}}
	timeout := &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{
		Err: "i/o timeout", Name: secret + "@api.example.com", IsTimeout: true,
		UnwrapErr: context.DeadlineExceeded,
	}}
	addr := &net.OpError{Op: "dial", Net: "tcp", Err: &net.AddrError{
		Err: "missing port in address", Addr: "[user:" + secret + "@[2001:db8::1]]:8443",
	}}
	parse := &net.ParseError{Type: "IP address", Text: "user:" + secret + "@192.0.2.1"}
	for _, base := range []error{dns, timeout, addr, parse} {
		for _, err := range []error{
			base,
			fmt.Errorf("attempt: %w", base),
			&url.Error{Op: "Get", URL: "https://api.example.com/v1", Err: base},
		} {
			got := (&Policy{}).Error(err)
			if msg := got.Error(); strings.Contains(msg, secret) || strings.Contains(msg, "user") {
				t.Errorf("Error(%v) = %q keeps the userinfo", err, msg)
			}
			if !strings.Contains(got.Error(), "api.example.com") && !strings.Contains(got.Error(), "2001:db8::1") && !strings.Contains(got.Error(), "192.0.2.1") {
				t.Errorf("Error(%v) = %q lost the host", err, got)
			}
			var de *net.DNSError
			if errors.As(base, &de) {
				if !errors.As(got, &de) {
					t.Fatalf("Error(%v): errors.As(*net.DNSError) fails", err)
				}
				if strings.Contains(de.Name, secret) {
					t.Errorf("DNSError.Name %q keeps the userinfo", de.Name)
				}
				if de.IsNotFound != (base == dns) {
					t.Errorf("Error(%v): IsNotFound = %v", err, de.IsNotFound)
				}
			}
			var ne net.Error
			if errors.As(base, &ne) && ne.Timeout() {
				if !errors.As(got, &ne) || !ne.Timeout() {
					t.Errorf("Error(%v) lost Timeout", err)
				}
				if !errors.Is(got, context.DeadlineExceeded) {
					t.Errorf("Error(%v) lost DNSError.UnwrapErr", err)
				}
			}
			var oe *net.OpError
			if errors.As(base, &oe) && !errors.As(got, &oe) {
				t.Errorf("Error(%v): errors.As(*net.OpError) fails", err)
			}
			var ae *net.AddrError
			if errors.As(base, &ae) && (!errors.As(got, &ae) || strings.Contains(ae.Addr, secret)) {
				t.Errorf("Error(%v): AddrError %v", err, ae)
			}
			var pe *net.ParseError
			if errors.As(base, &pe) && (!errors.As(got, &pe) || strings.Contains(pe.Text, secret)) {
				t.Errorf("Error(%v): ParseError %v", err, pe)
			}
		}
	}
}

// A net error without userinfo is not rewritten.
func TestErrorLeavesPlainNetErrorsAlone(t *testing.T) {
	err := &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "api.example.com", IsNotFound: true}}
	if got := (&Policy{}).Error(err); got != error(err) {
		t.Errorf("Error rewrote %v", err)
	}
	p := &Policy{}
	if n := testing.AllocsPerRun(100, func() { _ = p.Error(err) }); n != 0 {
		t.Errorf("%v allocations for an error without userinfo", n)
	}
}
