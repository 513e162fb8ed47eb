// Package hookpanic recovers the panic of a caller's function (a hook, an
// error handler) that securecall calls on a goroutine of its own, where
// no caller's recover reaches and a panic would end the process.
package hookpanic

import (
	"fmt"
	"log/slog"
)

// Recover, deferred directly (defer hookpanic.Recover("...")), recovers a
// panic and logs it at error level on slog's default logger, naming what
// panicked (what) and the panic value's type only: its text may hold a
// secret. It is not silent: a hook that panics is a bug to be found.
func Recover(what string) {
	if v := recover(); v != nil {
		slog.Error("securecall: a caller's function panicked; the panic was recovered", "function", what, "panic_type", fmt.Sprintf("%T", v))
	}
}
