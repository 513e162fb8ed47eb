package redact

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"testing"
)

const secret = "CANARY-s3cr3t"

var secretURL = "https://user:" + secret + "@api.example.com/v1?api_key=" + secret + "&page=2"

func assertClean(t *testing.T, err error) {
	t.Helper()
	if strings.Contains(err.Error(), secret) {
		t.Errorf("secret in error string: %q", err.Error())
	}
}

func TestErrorURLError(t *testing.T) {
	orig := &url.Error{Op: "Get", URL: secretURL, Err: io.ErrUnexpectedEOF}
	p := &Policy{QueryKeys: []string{"page"}}
	err := p.Error(orig)
	assertClean(t, err)
	var ue *url.Error
	if !errors.As(err, &ue) {
		t.Fatalf("no *url.Error in %T", err)
	}
	if ue == orig {
		t.Fatal("the caller's *url.Error was returned, not a rewritten one")
	}
	if ue.Op != "Get" || ue.URL != "https://api.example.com/v1?api_key=REDACTED&page=2" {
		t.Errorf("rewritten = {Op: %q, URL: %q}", ue.Op, ue.URL)
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Error("errors.Is lost the inner error")
	}
	if orig.URL != secretURL {
		t.Error("the caller's error was modified")
	}
	if want := `Get "https://api.example.com/v1?api_key=REDACTED&page=2": unexpected EOF`; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestErrorKeepsTimeout(t *testing.T) {
	err := (*Policy)(nil).Error(&url.Error{Op: "Post", URL: secretURL, Err: timeoutErr{}})
	assertClean(t, err)
	var ne interface{ Timeout() bool }
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Error("Timeout lost")
	}
	wrapped := (*Policy)(nil).Error(fmt.Errorf("call: %w", &url.Error{Op: "Post", URL: secretURL, Err: timeoutErr{}}))
	if to, ok := wrapped.(interface{ Timeout() bool }); !ok || !to.Timeout() {
		t.Error("Timeout of a rewritten wrapper lost")
	}
}

type sentinelWrapper struct{ err error }

var errSentinel = errors.New("redact test: sentinel")

func (w *sentinelWrapper) Error() string        { return "wrapped: " + w.err.Error() }
func (w *sentinelWrapper) Unwrap() error        { return w.err }
func (w *sentinelWrapper) Is(target error) bool { return target == errSentinel }

// retryError is the shape of an error struct holding another error in a
// field, that implements ErrorRewriter.
type retryError struct {
	Attempts int
	Last     error
}

func (e *retryError) Error() string { return fmt.Sprintf("retry: %d attempts: %v", e.Attempts, e.Last) }
func (e *retryError) Unwrap() error { return e.Last }
func (e *retryError) RewriteErrors(f func(error) error) error {
	return &retryError{Attempts: e.Attempts, Last: f(e.Last)}
}

func TestErrorWrappers(t *testing.T) {
	ue := func() error { return &url.Error{Op: "Get", URL: secretURL, Err: context.DeadlineExceeded} }
	tests := []struct {
		name string
		err  error
		want string // substring of the result
	}{
		{"fmt wrap", fmt.Errorf("securecall: call failed: %w", ue()), `securecall: call failed: Get "https://api.example.com/v1?api_key=REDACTED&page=REDACTED"`},
		{"double fmt wrap", fmt.Errorf("a: %w", fmt.Errorf("b: %w", ue())), `a: b: Get "https://api.example.com`},
		{"join", errors.Join(io.EOF, ue()), "EOF\nGet"},
		{"fmt multi", fmt.Errorf("%w and %w", io.EOF, ue()), "EOF and Get"},
		{"url in url", &url.Error{Op: "Get", URL: secretURL, Err: ue()}, `Get "https://api.example.com/v1?api_key=REDACTED&page=REDACTED": Get "https://api.example.com/v1?api_key=REDACTED&page=REDACTED": context deadline exceeded`},
		{"own Is", &sentinelWrapper{ue()}, "wrapped: Get"},
		{"rewriter", &retryError{Attempts: 3, Last: ue()}, "retry: 3 attempts: Get"},
		{"inner message with url", &url.Error{Op: "Get", URL: secretURL, Err: errors.New("cannot reach " + secretURL)}, "cannot reach https://api.example.com/v1?api_key=REDACTED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := (*Policy)(nil).Error(tt.err)
			assertClean(t, err)
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Error() = %q, want it to contain %q", err.Error(), tt.want)
			}
			if !strings.Contains(tt.err.Error(), secret) {
				t.Fatal("the test case carries no secret")
			}
			var u *url.Error
			if !errors.As(err, &u) || strings.Contains(u.Error(), secret) {
				t.Errorf("errors.As(*url.Error) = %v", u)
			}
			if strings.Contains(tt.name, "inner") {
				return
			}
			if tt.name != "join" && tt.name != "fmt multi" && !errors.Is(err, context.DeadlineExceeded) {
				t.Error("errors.Is lost context.DeadlineExceeded")
			}
		})
	}
	err := (*Policy)(nil).Error(&sentinelWrapper{ue()})
	if !errors.Is(err, errSentinel) {
		t.Error("a wrapper's own Is method was lost")
	}
	var re *retryError
	if !errors.As((*Policy)(nil).Error(&retryError{Attempts: 2, Last: ue()}), &re) || re.Attempts != 2 {
		t.Error("ErrorRewriter type lost")
	}
	if !errors.Is((*Policy)(nil).Error(errors.Join(io.EOF, ue())), io.EOF) {
		t.Error("errors.Is lost a joined error")
	}
}

func TestErrorWithoutURLError(t *testing.T) {
	p := &Policy{}
	if p.Error(nil) != nil {
		t.Error("Error(nil) != nil")
	}
	orig := fmt.Errorf("x: %w", io.EOF)
	if got := p.Error(orig); got != orig {
		t.Errorf("an error without *url.Error was replaced: %v", got)
	}
	joined := errors.Join(io.EOF, orig)
	if got := p.Error(joined); got != joined {
		t.Error("a joined error without *url.Error was replaced")
	}
	if n := testing.AllocsPerRun(100, func() { _ = p.Error(orig) }); n != 0 {
		t.Errorf("Error without *url.Error: %v allocs, want 0", n)
	}
}

// TestErrorUnparsableLocation: http.Client's error for a redirect whose
// Location does not parse quotes the value twice in a flat message, under
// the request's *url.Error; both are redacted, in the wrappers above too,
// and the rewritten error does not unwrap to the original message.
func TestErrorUnparsableLocation(t *testing.T) {
	loc := "https://u:" + secret + "@api.example.com:bad/?sig=" + secret
	flat := fmt.Errorf("failed to parse Location header %q: %v", loc, &url.Error{Op: "parse", URL: loc, Err: errors.New("invalid port")})
	err := fmt.Errorf("call: %w", &url.Error{Op: "Get", URL: "https://api.example.com/v1", Err: flat})
	got := (&Policy{}).Error(err)
	assertClean(t, got)
	want := `call: Get "https://api.example.com/v1": failed to parse Location header "https://api.example.com:bad/?sig=REDACTED": parse "https://api.example.com:bad/?sig=REDACTED": invalid port`
	if got.Error() != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if errors.Is(got, flat) {
		t.Error("the rewritten error still unwraps to the original message")
	}
	if _, ok := errors.AsType[*url.Error](got); !ok {
		t.Error("*url.Error lost")
	}
}

// TestErrorUnparsableLocationFragment: url.Parse cuts the fragment off
// before parsing, so its error quotes the Location without it: that
// second, shorter occurrence must be redacted too, and so must the
// fragment (an implicit-grant access_token travels there).
func TestErrorUnparsableLocationFragment(t *testing.T) {
	for _, loc := range []string{
		"https://api.example.com:bad/?sig=" + secret + "#frag",
		"https://api.example.com:bad/?x=1#access_token=" + secret,
		"/a\x7f?token=" + secret + "#f",
	} {
		_, perr := url.Parse(loc)
		if perr == nil {
			t.Fatalf("%q parses", loc)
		}
		flat := fmt.Errorf("failed to parse Location header %q: %v", loc, perr)
		err := fmt.Errorf("call: %w", &url.Error{Op: "Get", URL: "https://api.example.com/v1", Err: flat})
		got := (&Policy{}).Error(err)
		assertClean(t, got)
		if !strings.Contains(got.Error(), "failed to parse Location header") {
			t.Errorf("%q: message lost: %v", loc, got)
		}
	}
}

// TestErrorWrapperURLPrefixOfAnother: the message of a wrapper is fixed
// URL by URL; a URL that is the prefix of another one in the same message
// (a redirect's Location extending the request's URL, two calls to the
// same endpoint) must not be replaced first inside the longer one, which
// would then no longer match and keep its secret.
func TestErrorWrapperURLPrefixOfAnother(t *testing.T) {
	short := "https://api.example.com/v1?id=7"
	long := short + "&sig=" + secret
	for name, err := range map[string]error{
		"join": errors.Join(
			&url.Error{Op: "Get", URL: short, Err: io.ErrUnexpectedEOF},
			&url.Error{Op: "Get", URL: long, Err: io.ErrUnexpectedEOF}),
		"location": fmt.Errorf("call: %w", &url.Error{Op: "Get", URL: short,
			Err: fmt.Errorf("failed to parse Location header %q: %v", long+"#%zz",
				&url.Error{Op: "parse", URL: long + "#%zz", Err: errors.New(`invalid URL escape "%zz"`)})}),
	} {
		got := (&Policy{}).Error(err)
		if strings.Contains(got.Error(), secret) {
			t.Errorf("%s: secret in error string: %q", name, got.Error())
		}
	}
}
