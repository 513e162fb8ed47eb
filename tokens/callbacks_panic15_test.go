package tokens

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// inChild runs body in a child test process (the test binary run again
// for t alone) and fails t unless the child passes: a panic on a goroutine
// the package started, which no recover of the test reaches, ends the
// child with a non-zero status and "panic:" in its output.
func inChild(t *testing.T, body func(t *testing.T)) {
	t.Helper()
	const env = "SECURECALL_TOKENS_CALLBACK_CHILD"
	if os.Getenv(env) == t.Name() {
		body(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), env+"="+t.Name())
	out, err := cmd.CombinedOutput()
	if err != nil || strings.Contains(string(out), "panic:") {
		t.Fatalf("child test: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("child test did not pass:\n%s", out)
	}
}

// The error handler of a Cache runs on the refreshing goroutine, the
// Cache's own: a handler that panicked (a bug in it) ended the process,
// where no caller's recover reaches. The panic is recovered; the refresh's
// outcome stands, and the next failure is reported again.
func TestCacheErrorHandlerPanicDoesNotCrash(t *testing.T) {
	inChild(t, func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			src := SourceFunc(func(context.Context) (Token, error) { return Token{}, errors.New("down") })
			var calls atomic.Int32
			c := mustCache(t, src, WithBackoff(time.Second, time.Second), WithJitter(0),
				WithErrorHandler(func(error) {
					calls.Add(1)
					panic("handler bug near secret-value")
				}))
			var re *RefreshError
			if _, err := c.Token(context.Background()); !errors.As(err, &re) {
				t.Fatalf("err = %v, want a *RefreshError", err)
			}
			synctest.Wait()
			time.Sleep(time.Second)
			if _, err := c.Token(context.Background()); !errors.As(err, &re) || re.Failures != 2 {
				t.Fatalf("second refresh: %v, want the second failure", err)
			}
			synctest.Wait()
			if n := calls.Load(); n != 2 {
				t.Fatalf("handler called %d times, want 2", n)
			}
		})
	})
}
