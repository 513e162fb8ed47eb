package fleet

import (
	"errors"

	"github.com/securecall/securecall/transport"
)

// ErrUnavailable reports that Redis could not be used for a call: it
// failed, did not answer within the store's Timeout, or is marked down and
// the next probe is not due yet. Stores return it (inside an *Error) only
// under the FailClosed policy; under FallBackLocal they answer from local
// state instead.
var ErrUnavailable = errors.New("fleet: redis unavailable")

// Error reports a store call that Redis could not serve. It wraps
// ErrUnavailable and, when there was one, the cause (a go-redis error,
// context.DeadlineExceeded for a call cut by the store's Timeout). It
// never carries the key, so no key id or nonce reaches logs.
type Error struct {
	// Store is the store that failed: "nonce", "cooldown" or "lease".
	Store string
	// Op is what it was doing: "claim", "read", "write", "acquire".
	Op string
	// Err is the cause; nil when Redis was not tried (marked down).
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	s := "fleet: " + e.Store + " " + e.Op + ": redis unavailable"
	if e.Err != nil {
		s += ": " + e.Err.Error()
	} else {
		s += " (marked down, next probe pending)"
	}
	return s
}

// Unwrap returns ErrUnavailable and the cause.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrUnavailable}
	}
	return []error{ErrUnavailable, e.Err}
}

// ConfigError is the configuration error of every securecall package.
type ConfigError = transport.ConfigError

func configError(option, reason string) error {
	return &ConfigError{Option: option, Reason: reason}
}
