package signer

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// truncatedBody is a received body cut short: the client's connection
// dropped part-way (a net/http server reports io.ErrUnexpectedEOF for a
// body shorter than its Content-Length or a chunked body without its last
// chunk).
type truncatedBody struct{ r io.Reader }

func (b *truncatedBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (b *truncatedBody) Close() error { return nil }

// verifySentinels is every sentinel a *VerifyError may wrap.
var verifySentinels = []error{
	ErrMissingSignature, ErrInvalidSignature, ErrUnknownKey, ErrAlgorithmMismatch,
	ErrStale, ErrFuture, ErrExpired, ErrReplay, ErrDigestMismatch,
	ErrMissingComponent, ErrMissingParameter, ErrTagMismatch, ErrMalformed,
	ErrBodyTooLarge, ErrNonceStoreFull, ErrUnavailable, ErrBodyUnreadable,
}

// TestVerifyBodyReadErrorWrapsSentinel: a body that could not be read (a
// connection reset, a truncated chunked body) came back as a *VerifyError
// whose Err wrapped none of the sentinels, breaking the "wraps exactly one
// sentinel" promise, and DefaultErrorHandler answered 401: a client whose
// signature was fine was told it was not. It must wrap ErrBodyUnreadable
// (and the read error) and be answered 400.
func TestVerifyBodyReadErrorWrapsSentinel(t *testing.T) {
	k := testKey(t, "k")
	s := mustSigner(t, Options{Keys: StaticKey(k)})
	r := serverView(t, signed(t, s, "POST", "https://api.example.com/orders", `{"item":42}`, t0))
	r.Body = &truncatedBody{io.LimitReader(r.Body, 4)}
	v := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k)})
	_, err := v.Verify(r, t0)
	if _, ok := errors.AsType[*VerifyError](err); !ok || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("Verify = %v; want a *VerifyError wrapping io.ErrUnexpectedEOF", err)
	}
	n := 0
	for _, s := range verifySentinels {
		if errors.Is(err, s) {
			n++
		}
	}
	if n != 1 || !errors.Is(err, ErrBodyUnreadable) {
		t.Errorf("Verify = %v: wraps %d sentinels; want exactly ErrBodyUnreadable", err, n)
	}
	w := httptest.NewRecorder()
	DefaultErrorHandler(w, r, err)
	if w.Code != http.StatusBadRequest {
		t.Errorf("DefaultErrorHandler: %d, want 400", w.Code)
	}
}
