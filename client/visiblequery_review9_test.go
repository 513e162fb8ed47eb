package client_test

import (
	"testing"

	"github.com/securecall/securecall/client"
)

// An empty query key name in WithVisibleQueryKeys (strings.Split of an
// unset environment variable gives [""]) names no parameter the caller
// meant, and makes the value of a parameter without a name ("?=value")
// visible in spans and errors: refused, naming the option.
func TestVisibleQueryKeysEmptyNameRefused(t *testing.T) {
	wantConfigError(t, "WithVisibleQueryKeys", client.WithVisibleQueryKeys("page", ""))
}
