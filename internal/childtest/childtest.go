// Package childtest runs a test's body in a child process: the test
// binary run again for that test alone. A test of code that must not end
// the process (a panic on a goroutine the code started, which no recover
// of the test reaches) uses it to see the process survive.
package childtest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

const env = "SECURECALL_CHILD_TEST"

// Run runs body in a child test process and fails t unless the child
// passes: a panic there ends the child with a non-zero status and
// "panic:" in its output. In the child it runs body itself.
func Run(t *testing.T, body func(t *testing.T)) {
	t.Helper()
	cmd := child(t, env, body)
	if cmd == nil {
		return
	}
	out, err := cmd.CombinedOutput()
	if err != nil || strings.Contains(string(out), "panic:") {
		t.Fatalf("child test: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("child test did not pass:\n%s", out)
	}
}

// child runs body and returns nil when this process is the child of t
// (its environment names t under key); otherwise it returns the command
// that runs t alone in a child, with key set.
func child(t *testing.T, key string, body func(t *testing.T)) *exec.Cmd {
	t.Helper()
	if os.Getenv(key) == t.Name() {
		body(t)
		return nil
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), key+"="+t.Name())
	return cmd
}
