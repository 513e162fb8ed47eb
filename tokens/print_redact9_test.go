package tokens

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// TestSecretHoldersNeverPrint: the exported types that keep a secret in
// memory (a Refresher's current refresh token, a CachedStore's or a
// MemoryStore's values) print no secret with any fmt verb or through a
// slog text handler, as Token and signer.Key do not: a caller who logs
// its auth source or store while debugging must not log the credential.
func TestSecretHoldersNeverPrint(t *testing.T) {
	as, _ := rotatingAS(t)
	ctx := context.Background()
	mem := NewMemoryStore()
	if err := mem.Set(ctx, "rt", []byte("rt-0")); err != nil {
		t.Fatal(err)
	}
	cached, err := NewCachedStore(mem)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRefresher(as.config(ClientSecretBasic(StaticSecret([]byte("s")))), cached, "rt")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Token(ctx); err != nil { // holds rt-1 now, in r and in both stores
		t.Fatal(err)
	}
	secrets := []string{"rt-1", fmt.Sprint([]byte("rt-1"))}
	type holder struct{ src Source } // an unexported field: fmt walks it by reflection
	for _, v := range []any{r, cached, mem, holder{r}, &holder{r}} {
		var outs []string
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
			outs = append(outs, fmt.Sprintf(verb, v))
		}
		var b strings.Builder
		slog.New(slog.NewTextHandler(&b, nil)).Info("m", "v", v)
		outs = append(outs, b.String())
		for _, out := range outs {
			for _, s := range secrets {
				if strings.Contains(out, s) {
					t.Errorf("%T printed the secret %q: %s", v, s, out)
				}
			}
		}
	}
}
