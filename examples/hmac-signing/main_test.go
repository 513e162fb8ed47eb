package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain checks the demo leaves no goroutine behind: its server, clients
// and transports are all closed.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestHMACSigning runs the whole demo (which fails on any unexpected
// verdict) and checks its report.
func TestHMACSigning(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []string{
		// 1. accepted, with the Signature-Input the server saw
		"GET /v1/orders?status=open                   -> 200 accepted, keyid=demo-key-1",
		`Signature-Input: sig1=("@method" "@authority" "@path" "@query");created=`,
		`Signature-Input: sig1=("@method" "@authority" "@path" "@query" "content-digest" "content-type");created=`,
		`;keyid="demo-key-1";alg="hmac-sha256"`,
		"Content-Digest:  sha-256=:",
		// 2. replay
		"replayed POST /v1/orders                     -> 401 refused, ErrReplay",
		// 3. tampering
		"query changed: ?status=open -> ?status=all   -> 401 refused, ErrInvalidSignature",
		"body changed, Content-Digest kept            -> 401 refused, ErrDigestMismatch",
		"body changed, Content-Digest recomputed      -> 401 refused, ErrInvalidSignature",
		// 4. rotation
		"rotated client                               -> 200 accepted, keyid=demo-key-2",
		"another instance, not rotated yet            -> 200 accepted, keyid=demo-key-1",
		"instance still on demo-key-1                 -> 401 refused, ErrUnknownKey",
		// 5. created window
		"created 5 minutes ago                        -> 401 refused, ErrStale",
		"created 5 minutes ahead                      -> 401 refused, ErrFuture",
		"all outcomes as expected",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
	// The signature values are shown shortened, never whole.
	sigs := 0
	for line := range strings.Lines(got) {
		line = strings.TrimSpace(line)
		v, ok := strings.CutPrefix(line, "Signature:")
		if !ok {
			continue
		}
		sigs++
		v = strings.TrimSpace(v)
		if !strings.HasPrefix(v, "sig1=:") || !strings.HasSuffix(v, "…:") || len(v) > len("sig1=:")+12+len("…:") {
			t.Errorf("signature not shortened: %q", line)
		}
	}
	if sigs != 2 {
		t.Errorf("report shows %d Signature lines, want 2:\n%s", sigs, got)
	}
}

// TestShorten pins the abbreviation of Signature field values.
func TestShorten(t *testing.T) {
	for in, want := range map[string]string{
		"sig1=:0icivG9RgA+AbCdEfGhIjKlMnOpQrStUvWxYz0123456=:": "sig1=:0icivG9RgA+A…:",
		"sig1=:short:":     "sig1=:short:",
		"no byte sequence": "no byte sequence",
	} {
		if got := shorten(in); got != want {
			t.Errorf("shorten(%q) = %q, want %q", in, got, want)
		}
	}
}
