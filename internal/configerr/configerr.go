// Package configerr holds the one configuration error type of securecall.
// transport.ConfigError, signer.ConfigError, tokens.ConfigError and
// client.ConfigError are all aliases of Error, so a single errors.As finds a
// configuration error whichever package reported it.
package configerr

import "strings"

// Error reports invalid configuration. Option names the offending option,
// field or argument ("WithPins", "Options.Label", "TLSConfig.InsecureSkipVerify").
// Err, when set, is the cause and is reachable with errors.Is / errors.As.
//
// When Err is itself an *Error (an option wrapping the error of the
// constructor it calls), the message nests the option names instead of
// repeating the prefix: "securecall: invalid configuration: WithHMACSigning:
// Options.Keys: a KeySource is required".
type Error struct {
	Option string
	Reason string
	Err    error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("securecall: invalid configuration: ")
	e.write(&b)
	return b.String()
}

func (e *Error) write(b *strings.Builder) {
	b.WriteString(e.Option)
	if e.Reason != "" {
		b.WriteString(": ")
		b.WriteString(e.Reason)
	}
	if e.Err == nil {
		return
	}
	b.WriteString(": ")
	if inner, ok := e.Err.(*Error); ok {
		inner.write(b)
		return
	}
	b.WriteString(e.Err.Error())
}

func (e *Error) Unwrap() error { return e.Err }
