package signer

import (
	"bytes"
	"encoding/base64"
	"math/rand/v2"
	"testing"
)

// TestAppendBase64 checks appendBase64 against encoding/base64 for every
// length up to 600 bytes (an RSA-4096 signature is 512), random and
// all-ones contents, after a non-empty prefix.
func TestAppendBase64(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n <= 600; n++ {
		for _, fill := range []string{"random", "ones", "zeros"} {
			src := make([]byte, n)
			for i := range src {
				switch fill {
				case "random":
					src[i] = byte(r.Uint32())
				case "ones":
					src[i] = 0xff
				}
			}
			for _, c := range []struct {
				name     string
				alphabet *[64]byte
				pad      bool
				enc      *base64.Encoding
			}{
				{"std", &b64Std, true, base64.StdEncoding},
				{"rawurl", &b64URL, false, base64.RawURLEncoding},
			} {
				prefix := []byte("sig1=:")
				want := c.enc.AppendEncode(bytes.Clone(prefix), src)
				got := appendBase64(bytes.Clone(prefix), src, c.alphabet, c.pad)
				if !bytes.Equal(got, want) {
					t.Fatalf("%s %s %d bytes: got %q, want %q", c.name, fill, n, got, want)
				}
			}
		}
	}
}
