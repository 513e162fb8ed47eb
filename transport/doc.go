// Package transport holds securecall's layers. Each layer is a plain
// http.RoundTripper, safe for concurrent use, usable on its own, with a nil
// next meaning http.DefaultTransport.
//
// The order in which the client stacks them lives in one place,
// client/stack.go; see docs/architecture.md for the diagram and the reasons.
//
// Layers never modify the caller's request. Inside a stack the per-attempt
// request is cloned once (BeginAttempt) and the inner layers share that
// clone through Own; a layer used on its own clones for itself.
//
// Errors: sentinels (ErrPinMismatch, ErrRedirectDenied, ...) for states a
// caller branches on, structs (*ConfigError, *PinMismatchError, ...) for
// data, always wrapped with %w and classified with errors.Is / errors.As.
package transport
