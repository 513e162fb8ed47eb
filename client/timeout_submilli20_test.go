package client_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/transport"
)

// A WithAttemptTimeout or WithTimeout under a millisecond (10: a unit left
// out, 10 s meant) was accepted when the retry schedule let it through
// (one attempt, or any attempt timeout): every attempt's context had
// ended before a connection could be made, so every call failed with a
// timeout, counted against the host's breaker, which opened on a healthy
// host. The same values in a WithResilience configuration (TotalTimeout,
// AttemptTimeout) likewise. Each is now a *ConfigError naming the option
// (and the field, for WithResilience); 1 ms and zero (none) are accepted.
func TestSubMillisecondTimeoutsRefused(t *testing.T) {
	withRes := func(total, attempt time.Duration) client.Option {
		rc := transport.StandardPreset()
		rc.TotalTimeout, rc.AttemptTimeout = total, attempt
		rc.Retry.MaxAttempts = 1
		return client.WithResilience(rc)
	}
	for _, tc := range []struct {
		name   string
		o      []client.Option
		option string
		field  string
	}{
		{"attempt 10ns", []client.Option{client.WithAttemptTimeout(10)}, "WithAttemptTimeout", ""},
		{"attempt 999.999µs", []client.Option{client.WithAttemptTimeout(time.Millisecond - 1)}, "WithAttemptTimeout", ""},
		{"total 30ns, one attempt", []client.Option{client.WithTimeout(30), client.WithMaxAttempts(1), client.WithAttemptTimeout(0)}, "WithTimeout", ""},
		{"total 1µs", []client.Option{client.WithTimeout(time.Microsecond)}, "WithTimeout", ""},
		{"WithResilience attempt 10ns", []client.Option{withRes(time.Minute, 10)}, "WithResilience", "AttemptTimeout"},
		{"WithResilience total 30ns", []client.Option{withRes(30, 0)}, "WithResilience", "TotalTimeout"},
	} {
		c, err := client.New(tc.o...)
		if err == nil {
			c.Close()
		}
		var ce *client.ConfigError
		if !errors.As(err, &ce) || ce.Option != tc.option || !strings.Contains(err.Error(), tc.field) || !strings.Contains(err.Error(), "millisecond") {
			t.Errorf("%s: err = %v, want a *ConfigError naming %s %s", tc.name, err, tc.option, tc.field)
		}
	}
	for name, o := range map[string][]client.Option{
		"attempt 1ms":                 {client.WithAttemptTimeout(time.Millisecond)},
		"total 1s, attempt 1ms":       {client.WithTimeout(time.Second), client.WithAttemptTimeout(time.Millisecond)},
		"no timeouts":                 {client.WithTimeout(0), client.WithAttemptTimeout(0)},
		"WithResilience 1 min, 1 ms":  {withRes(time.Minute, time.Millisecond)},
		"WithResilience no timeouts":  {withRes(0, 0)},
		"WithTimeout over a tiny one": {withRes(30, 10), client.WithTimeout(time.Minute), client.WithAttemptTimeout(time.Second)},
	} {
		c, err := client.New(o...)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		c.Close()
	}
}
