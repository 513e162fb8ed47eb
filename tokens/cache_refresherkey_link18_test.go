//go:build unix

package tokens

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FileStores over one directory reached by two paths (a symlink: /var/run
// and /run, a deployment's "current" link) write the same files, yet
// NewCache compared their paths as strings and accepted a Cache
// persisting its access token under its Refresher's refresh-token key:
// the access token's JSON overwrote the refresh token, the Refresher's
// next refresh sent it and the grant was lost (invalid_grant), as with
// one path. A directory that does not exist yet is still compared by its
// path; other directories are still accepted.
func TestCachePersistenceKeyOfItsRefresherRefusedThroughSymlink(t *testing.T) {
	as, used := rotatingAS(t)
	ctx := context.Background()
	base := t.TempDir()
	real := filepath.Join(base, "real")
	if err := os.Mkdir(real, 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	fr, _ := NewFileStore(real)
	fl, _ := NewFileStore(link)
	fsub, _ := NewFileStore(filepath.Join(link, "sub"))
	if err := fr.Set(ctx, "rt", []byte("rt-0")); err != nil {
		t.Fatal(err)
	}
	r, err := NewRefresher(as.config(ClientSecretBasic(StaticSecret([]byte("s")))), fr, "rt")
	if err != nil {
		t.Fatal(err)
	}
	cached, _ := NewCachedStore(fl)
	for name, s := range map[string]Store{"FileStore over a symlink to the directory": fl, "CachedStore over it": cached} {
		c, err := NewCache(r, WithPersistence(s, "rt"))
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Option != "WithPersistence" {
			if err == nil {
				// What accepting it costs: the grant.
				c.Token(ctx)
				for i := 0; i < 500; i++ { // the Cache writes after handing over its token
					if b, _ := fr.Get(ctx, "rt"); len(b) > 0 && b[0] == '{' {
						break
					}
					time.Sleep(10 * time.Millisecond)
				}
				c.Close()
				r2, _ := NewRefresher(as.config(ClientSecretBasic(StaticSecret([]byte("s")))), fr, "rt")
				_, rerr := r2.Token(ctx)
				t.Errorf("%s: NewCache accepted the refresh token's key; a restart's refresh then: %v", name, rerr)
				fr.Set(ctx, "rt", []byte("rt-0"))
				used.Delete("rt-0")
				r, _ = NewRefresher(as.config(ClientSecretBasic(StaticSecret([]byte("s")))), fr, "rt")
				continue
			}
			t.Errorf("%s: NewCache = %v, want a *ConfigError naming WithPersistence", name, err)
		}
	}
	for name, s := range map[string]Store{"another directory through the link": fsub, "another key's store": NewMemoryStore()} {
		if _, err := NewCache(r, WithPersistence(s, "rt")); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	missing, _ := NewFileStore(filepath.Join(base, "missing"))
	missing2, _ := NewFileStore(filepath.Join(base, "missing", "."))
	rm, _ := NewRefresher(as.config(ClientSecretBasic(StaticSecret([]byte("s")))), missing, "rt")
	if _, err := NewCache(rm, WithPersistence(missing2, "rt")); err == nil {
		t.Error("a directory not made yet: NewCache accepted the refresh token's key")
	}
}
