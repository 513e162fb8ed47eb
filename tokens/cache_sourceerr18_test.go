package tokens

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// A caller's Source built on x/oauth2 without FromOAuth2 (a SourceFunc
// around an oauth2.Config's Token, a library's token source) fails with
// an *oauth2.RetrieveError in its chain, whose message quotes the token
// endpoint's response body, which may echo credentials: the Cache put it
// into its *RefreshError as it was, and so into the caller's error, the
// span's status and the audit record. The message says what a *TokenError
// says (error code, HTTP status), the caller's own words kept around it,
// and errors.Is and errors.As still reach the caller's error and the
// *oauth2.RetrieveError.
func TestCacheSourceRetrieveErrorBodyNotQuoted(t *testing.T) {
	const secret = "S3CRET-echo-5b1e"
	re := &oauth2.RetrieveError{
		Response:         &http.Response{StatusCode: 401, Header: http.Header{}},
		Body:             []byte(`{"error":"invalid_client","error_description":"bad secret ` + secret + `"}`),
		ErrorCode:        "invalid_client",
		ErrorDescription: "bad secret " + secret,
	}
	bodyOnly := &oauth2.RetrieveError{
		Response: &http.Response{StatusCode: 502, Header: http.Header{}},
		Body:     []byte(`<html>client_secret=` + secret + `</html>`),
	}
	for _, tt := range []struct {
		name, want string
		err        error
	}{
		{"wrapped", "my idp: tokens: token endpoint refused the request: invalid_client (HTTP 401)", fmt.Errorf("my idp: %w", re)},
		{"bare", "tokens: token endpoint refused the request (HTTP 502)", bodyOnly},
		{"quoted", "tokens: token source failed: tokens: token endpoint refused the request (HTTP 502)", fmt.Errorf("idp said %q: %w", string(bodyOnly.Body), errors.ErrUnsupported)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			handled := make(chan string, 1)
			serr := tt.err
			if tt.name == "quoted" {
				serr = &joinedQuote{msg: tt.err.Error(), errs: []error{errors.ErrUnsupported, bodyOnly}}
			}
			src := SourceFunc(func(context.Context) (Token, error) { return Token{}, serr })
			c := mustCache(t, src, WithErrorHandler(func(err error) { handled <- err.Error() }))
			_, err := c.Token(context.Background())
			if err == nil {
				t.Fatal("no error")
			}
			for _, msg := range []string{err.Error(), <-handled} {
				if strings.Contains(msg, secret) {
					t.Errorf("message quotes the response body: %q", msg)
				}
				if !strings.Contains(msg, tt.want) {
					t.Errorf("message %q, want it to hold %q", msg, tt.want)
				}
			}
			if !errors.Is(err, serr) {
				t.Error("errors.Is no longer reaches the source's error")
			}
			if _, ok := errors.AsType[*oauth2.RetrieveError](err); !ok {
				t.Error("errors.As no longer finds the *oauth2.RetrieveError")
			}
		})
	}
}

// joinedQuote is a caller's error that quotes the body in its own words
// (not RetrieveError's message) and wraps the RetrieveError.
type joinedQuote struct {
	msg  string
	errs []error
}

func (e *joinedQuote) Error() string   { return e.msg }
func (e *joinedQuote) Unwrap() []error { return e.errs }
