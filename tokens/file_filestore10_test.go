package tokens

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// WithMaxFileSize(math.MaxInt), the natural way to say "no limit", must
// not overflow the read limit into a negative one: Get returned an empty
// secret for every file (a token request with an empty client secret).
func TestFileStoreMaxFileSizeMaxInt(t *testing.T) {
	s, dir := newFileStore(t, WithMaxFileSize(math.MaxInt))
	ctx := context.Background()
	if err := s.Set(ctx, "k", []byte("secret")); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Get(ctx, "k"); err != nil || string(v) != "secret" {
		t.Fatalf("Get = %q, %v; want %q", v, err, "secret")
	}
	if b, err := os.ReadFile(filepath.Join(dir, "k")); err != nil || string(b) != "secret" {
		t.Fatalf("file = %q, %v", b, err)
	}
}
