package hookpanic

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestRecoverLogsTypeOnly(t *testing.T) {
	var buf bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	defer slog.SetDefault(old)
	func() {
		defer Recover("test hook")
		panic("secret-value-123")
	}()
	out := buf.String()
	if !strings.Contains(out, "test hook") || !strings.Contains(out, "panic_type=string") {
		t.Errorf("log %q does not name the function and the panic's type", out)
	}
	if strings.Contains(out, "secret-value-123") {
		t.Errorf("log %q shows the panic's value", out)
	}
	buf.Reset()
	func() { defer Recover("quiet") }()
	if buf.Len() != 0 {
		t.Errorf("logged without a panic: %q", buf.String())
	}
}
