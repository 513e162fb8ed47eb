package signer

import (
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"
)

// Sign moves the lines of a field set under non-canonical keys to the
// canonical key, in the order HTTP/1.1 writes them (keys sorted), so the
// signature covers what is sent; a canonical key present without lines
// stays present; a caller's Signature-Input under a non-canonical key is
// seen by the label-in-use check.
func TestSignMergesNonCanonicalKeys(t *testing.T) {
	s := mustSigner(t, Options{Keys: StaticKey(testKey(t, "k")), Components: append(DefaultComponents(), Field("x-api-key"))})
	req, _ := http.NewRequest(http.MethodGet, "https://api.example/p", nil)
	req.Header = http.Header{"x-api-key": {"c"}, "X-API-KEY": {"a"}, "X-Api-Key": {"b"}, "User-Agent": nil, "user-agent": nil}
	if err := s.Sign(t.Context(), req, time.Unix(1700000000, 0)); err != nil {
		t.Fatal(err)
	}
	if got := req.Header["X-Api-Key"]; !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("X-Api-Key = %q", got)
	}
	for _, k := range []string{"x-api-key", "X-API-KEY", "user-agent"} {
		if _, ok := req.Header[k]; ok {
			t.Errorf("key %q left", k)
		}
	}
	if vs, ok := req.Header["User-Agent"]; !ok || len(vs) != 0 {
		t.Errorf("User-Agent = %q, %v; want present and empty", vs, ok)
	}

	req, _ = http.NewRequest(http.MethodGet, "https://api.example/p", nil)
	req.Header = http.Header{"X-Api-Key": {"a"}, "signature-input": {`sig1=("@method");created=1`}, "signature": {"sig1=:AAAA:"}}
	if err := s.Sign(t.Context(), req, time.Unix(1700000000, 0)); !errors.Is(err, ErrLabelInUse) {
		t.Errorf("err = %v, want ErrLabelInUse", err)
	}
}
