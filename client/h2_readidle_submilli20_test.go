package client_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/transport"
)

// A WithHTTP2ReadIdleTimeout under a millisecond (30: a unit left out,
// 30 s meant) is the PING's answer time too: no server answers a PING
// that fast, so every HTTP/2 connection was closed as lost ("http2:
// client connection lost") with its calls on it, and the breaker opened
// on a healthy host. It is a *ConfigError naming the option (and, in
// transport.BaseConfig, naming HTTP2ReadIdleTimeout); 1 ms is accepted.
func TestHTTP2ReadIdleTimeoutUnderAMillisecondRefused(t *testing.T) {
	for _, d := range []time.Duration{1, 30, time.Microsecond, time.Millisecond - 1} {
		c, err := client.New(client.WithHTTP2ReadIdleTimeout(d))
		if err == nil {
			c.Close()
		}
		var ce *client.ConfigError
		if !errors.As(err, &ce) || ce.Option != "WithHTTP2ReadIdleTimeout" || !strings.Contains(err.Error(), "millisecond") {
			t.Errorf("WithHTTP2ReadIdleTimeout(%v): err = %v, want a *ConfigError naming WithHTTP2ReadIdleTimeout", d, err)
		}
		b, err := transport.NewBase(transport.BaseConfig{HTTP2ReadIdleTimeout: d})
		if err == nil {
			b.CloseIdleConnections()
		}
		if !errors.As(err, &ce) || ce.Option != "HTTP2ReadIdleTimeout" {
			t.Errorf("BaseConfig.HTTP2ReadIdleTimeout %v: err = %v, want a *ConfigError naming HTTP2ReadIdleTimeout", d, err)
		}
	}

	// 1 ms is accepted.
	c, err := client.New(client.WithHTTP2ReadIdleTimeout(time.Millisecond))
	if err != nil {
		t.Fatalf("1 ms: %v", err)
	}
	c.Close()
	b, err := transport.NewBase(transport.BaseConfig{HTTP2ReadIdleTimeout: time.Millisecond})
	if err != nil {
		t.Fatalf("BaseConfig 1 ms: %v", err)
	}
	b.CloseIdleConnections()
}
