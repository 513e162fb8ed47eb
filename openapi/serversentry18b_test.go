package openapi_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// TestConfigServersSchemeErrorNamesTheEntry: the *ConfigError refusing a
// Config.Servers entry whose scheme is not http or https named the entry
// by the index of its "://" (schemeEnd's answer, shadowing the entry's
// index since 4b9bab6): "ftp://files.example.test/v1", entry 1, was
// reported as "entry 3".
func TestConfigServersSchemeErrorNamesTheEntry(t *testing.T) {
	next := transporttest.NewResponder(transporttest.Respond(200, ""))
	_, err := openapi.New(next, openapi.Config{Spec: spec18(`[{url: "https://api.example.test/v1"}]`, ""),
		Servers: []string{"https://api.example.test/v1", "ftp://files.example.test/v1"}})
	var ce *transport.ConfigError
	if !errors.As(err, &ce) || ce.Option != "Servers" {
		t.Fatalf("New: %v, want a *ConfigError naming Servers", err)
	}
	if !strings.Contains(ce.Reason, "entry 1 ") {
		t.Errorf("Reason %q, want it to name entry 1", ce.Reason)
	}
}
