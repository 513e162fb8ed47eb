package client_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/securecall/securecall/client"
)

// TestOriginErrorNamesTheOrigin: with several origins, a ConfigError must
// say which one is wrong (by index: the value may carry userinfo), as
// WithEgressAllowlist's "Allow[1]" and WithPins' "Pins[0]" do.
func TestOriginErrorNamesTheOrigin(t *testing.T) {
	for _, tc := range []struct {
		opt  client.Option
		want string
	}{
		{client.WithOrigins("https://a.example", "ftp://b.example"), "WithOrigins: origins[1]: "},
		{client.WithOrigins("https://a.example", "https://b.example", "https://user:pw@c.example"), "WithOrigins: origins[2]: "},
		{client.WithOrigins("https://a.example", "https://*.example"), "WithOrigins: origins[1]: an origin names one host"},
		{client.WithRedirectOrigins("https://b.example", "b.example"), "WithRedirectOrigins: origins[1]: "},
	} {
		_, err := client.New(tc.opt)
		ce, ok := errors.AsType[*client.ConfigError](err)
		if !ok || ce.Option == "" || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err = %v, want it to contain %q", err, tc.want)
		}
		if strings.Contains(err.Error(), "pw") {
			t.Errorf("err = %v shows the userinfo", err)
		}
	}
}
