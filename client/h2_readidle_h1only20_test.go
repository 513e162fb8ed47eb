package client_test

import (
	"crypto/tls"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/securecall/securecall/client"
)

// WithHTTP2ReadIdleTimeout with a WithTLSConfig whose NextProtos leaves
// out "h2" (HTTP/1.1 only, as asked) was accepted and did nothing: no
// connection speaks HTTP/2, and an HTTP/1.1 connection has no PING, so a
// connection whose server went silent stayed pooled while the caller
// believed the health check was on. It is a *ConfigError naming the
// option; with "h2" offered, or without NextProtos, it is accepted, and
// so is an HTTP/1.1-only client without the option.
func TestHTTP2ReadIdleTimeoutWithoutH2Refused(t *testing.T) {
	h1 := func(protos ...string) client.Option {
		return client.WithTLSConfig(&tls.Config{NextProtos: protos})
	}
	for name, o := range map[string][]client.Option{
		"http/1.1 only":         {h1("http/1.1"), client.WithHTTP2ReadIdleTimeout(10 * time.Second)},
		"option first":          {client.WithHTTP2ReadIdleTimeout(time.Minute), h1("http/1.1")},
		"another protocol only": {h1("acme-tls/1"), client.WithHTTP2ReadIdleTimeout(10 * time.Second)},
	} {
		c, err := client.New(o...)
		if err == nil {
			c.Close()
		}
		var ce *client.ConfigError
		if !errors.As(err, &ce) || ce.Option != "WithHTTP2ReadIdleTimeout" || !strings.Contains(err.Error(), "h2") {
			t.Errorf("%s: err = %v, want a *ConfigError naming WithHTTP2ReadIdleTimeout", name, err)
		}
	}
	for name, o := range map[string][]client.Option{
		"h2 offered":          {h1("h2", "http/1.1"), client.WithHTTP2ReadIdleTimeout(10 * time.Second)},
		"no NextProtos":       {h1(), client.WithHTTP2ReadIdleTimeout(10 * time.Second)},
		"http/1.1, no option": {h1("http/1.1")},
		"option set to zero":  {h1("http/1.1"), client.WithHTTP2ReadIdleTimeout(0)},
	} {
		c, err := client.New(o...)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		c.Close()
	}
}
