package tokens

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestValidateKey(t *testing.T) {
	for _, k := range []string{"a", "client-secret", "api.key_2", "A9", strings.Repeat("k", MaxKeyLen)} {
		if err := ValidateKey(k); err != nil {
			t.Errorf("ValidateKey(%q) = %v", k, err)
		}
	}
	for _, k := range []string{"", ".hidden", "-x", "a/b", "../etc", "a b", "é", "a\x00", strings.Repeat("k", MaxKeyLen+1)} {
		if err := ValidateKey(k); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("ValidateKey(%q) = %v, want ErrInvalidKey", k, err)
		}
	}
}

// storeContract checks the behaviour every writable Store shares.
func storeContract(t *testing.T, s Store) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Get(ctx, "missing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(missing) = %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, "missing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Delete(missing) = %v, want ErrNotFound", err)
	}
	val := []byte("pässwörd-\x00-🔑")
	if err := s.Set(ctx, "k1", val); err != nil {
		t.Fatal(err)
	}
	val[0] = 'X' // Set copied
	got, err := s.Get(ctx, "k1")
	if err != nil || string(got) != "pässwörd-\x00-🔑" {
		t.Fatalf("Get = %q, %v", got, err)
	}
	got[0] = 'Y' // Get returned a copy
	if again, _ := s.Get(ctx, "k1"); string(again) != "pässwörd-\x00-🔑" {
		t.Fatalf("Get returned shared memory: %q", again)
	}
	if err := s.Set(ctx, "k1", []byte("v2")); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get(ctx, "k1"); string(got) != "v2" {
		t.Fatalf("overwrite: %q", got)
	}
	if err := s.Delete(ctx, "k1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "k1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after Delete: %v", err)
	}
	if err := s.Set(ctx, "../escape", []byte("x")); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("Set(bad key) = %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Get(cctx, "k1"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Get(cancelled) = %v", err)
	}
	var se *StoreError
	_, err = s.Get(ctx, "nope")
	if !errors.As(err, &se) || se.Key != "nope" || se.Op != "get" {
		t.Fatalf("error is not a *StoreError naming the key: %#v", err)
	}
}

func TestMemoryStore(t *testing.T) {
	storeContract(t, NewMemoryStore())
	var zero MemoryStore
	storeContract(t, &zero)
}

func TestMemoryStoreParallel(t *testing.T) {
	s := NewMemoryStore()
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			key := "k" + string(rune('a'+i))
			for range 200 {
				if err := s.Set(ctx, key, []byte(key)); err != nil {
					t.Error(err)
				}
				if v, err := s.Get(ctx, key); err != nil || string(v) != key {
					t.Errorf("Get %s = %q %v", key, v, err)
				}
				s.Get(ctx, "shared")
				s.Set(ctx, "shared", []byte("x"))
			}
		})
	}
	wg.Wait()
	if n := len(s.Keys()); n != 9 {
		t.Fatalf("%d keys", n)
	}
}

func TestEnvStore(t *testing.T) {
	t.Setenv("SCTEST_CLIENT_SECRET", "from-env")
	t.Setenv("SCTEST_EMPTY", "")
	s, err := NewEnvStore("SCTEST_")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if v := s.Var("client-secret"); v != "SCTEST_CLIENT_SECRET" {
		t.Fatalf("Var = %q", v)
	}
	if v, err := s.Get(ctx, "client-secret"); err != nil || string(v) != "from-env" {
		t.Fatalf("Get = %q %v", v, err)
	}
	if v, err := s.Get(ctx, "client.secret"); err != nil || string(v) != "from-env" {
		t.Fatalf("Get(client.secret) = %q %v", v, err)
	}
	for _, k := range []string{"empty", "unset"} {
		if _, err := s.Get(ctx, k); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get(%s) = %v", k, err)
		}
	}
	if err := s.Set(ctx, "x", []byte("y")); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("Set = %v", err)
	}
	if err := s.Delete(ctx, "x"); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("Delete = %v", err)
	}
	if _, err := s.Get(ctx, "bad/key"); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("bad key: %v", err)
	}
	for _, p := range []string{"lower_", "1X", "A-B"} {
		if _, err := NewEnvStore(p); err == nil {
			t.Errorf("NewEnvStore(%q) accepted", p)
		}
	}
}

func newFileStore(t *testing.T, opts ...FileOption) (*FileStore, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "secrets")
	s, err := NewFileStore(dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s, dir
}

func TestFileStore(t *testing.T) {
	s, dir := newFileStore(t)
	storeContract(t, s)
	ctx := context.Background()
	if err := s.Set(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, "k"): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s mode %v, want %v", path, fi.Mode().Perm(), want)
		}
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("temporary files left behind: %v", ents)
	}
}

func TestFileStoreRefusesInsecureFiles(t *testing.T) {
	ctx := context.Background()
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660, 0o606} {
		s, dir := newFileStore(t)
		if err := s.Set(ctx, "k", []byte("secret")); err != nil {
			t.Fatal(err)
		}
		os.Chmod(filepath.Join(dir, "k"), mode)
		_, err := s.Get(ctx, "k")
		if !errors.Is(err, ErrInsecureFile) {
			t.Errorf("mode %v: Get = %v, want ErrInsecureFile", mode, err)
		}
		if err != nil && strings.Contains(err.Error(), "secret\"") {
			t.Errorf("error leaks the value: %v", err)
		}
	}
	// Group-readable is accepted only when asked for, and never writable.
	s, dir := newFileStore(t, WithGroupReadable())
	s.Set(ctx, "k", []byte("secret"))
	os.Chmod(filepath.Join(dir, "k"), 0o440)
	if v, err := s.Get(ctx, "k"); err != nil || string(v) != "secret" {
		t.Errorf("0440 with WithGroupReadable: %q %v", v, err)
	}
	for _, mode := range []os.FileMode{0o460, 0o444} {
		os.Chmod(filepath.Join(dir, "k"), mode)
		if _, err := s.Get(ctx, "k"); !errors.Is(err, ErrInsecureFile) {
			t.Errorf("mode %v with WithGroupReadable: %v", mode, err)
		}
	}
	// A directory others may write to is refused, for reads and writes.
	s, dir = newFileStore(t)
	s.Set(ctx, "k", []byte("secret"))
	os.Chmod(dir, 0o777)
	if _, err := s.Get(ctx, "k"); !errors.Is(err, ErrInsecureFile) {
		t.Errorf("world-writable dir: Get = %v", err)
	}
	if err := s.Set(ctx, "k2", []byte("x")); !errors.Is(err, ErrInsecureFile) {
		t.Errorf("world-writable dir: Set = %v", err)
	}
	// Not a regular file.
	s, dir = newFileStore(t)
	os.MkdirAll(filepath.Join(dir, "sub"), 0o700)
	os.Chmod(dir, 0o700)
	if _, err := s.Get(ctx, "sub"); !errors.Is(err, ErrInsecureFile) {
		t.Errorf("directory as secret: %v", err)
	}
}

func TestFileStoreFollowsSymlinkToSecureFile(t *testing.T) {
	// Kubernetes secret volumes are symlinks into a ..data directory.
	s, dir := newFileStore(t)
	ctx := context.Background()
	data := filepath.Join(dir, "..data")
	os.MkdirAll(data, 0o700)
	os.Chmod(dir, 0o700)
	os.WriteFile(filepath.Join(data, "token"), []byte("v\n"), 0o400)
	os.Symlink(filepath.Join("..data", "token"), filepath.Join(dir, "token"))
	if v, err := s.Get(ctx, "token"); err != nil || string(v) != "v\n" {
		t.Fatalf("Get via symlink = %q %v", v, err)
	}
	s2, _ := NewFileStore(dir, WithTrimNewline())
	if v, err := s2.Get(ctx, "token"); err != nil || string(v) != "v" {
		t.Fatalf("WithTrimNewline = %q %v", v, err)
	}
}

func TestFileStoreSizeLimit(t *testing.T) {
	s, dir := newFileStore(t, WithMaxFileSize(8))
	ctx := context.Background()
	if err := s.Set(ctx, "k", []byte("123456789")); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Set too large = %v", err)
	}
	os.MkdirAll(dir, 0o700)
	os.WriteFile(filepath.Join(dir, "big"), []byte("123456789"), 0o600)
	if _, err := s.Get(ctx, "big"); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Get too large = %v", err)
	}
	if _, err := NewFileStore(dir, WithMaxFileSize(0)); err == nil {
		t.Fatal("WithMaxFileSize(0) accepted")
	}
	if _, err := NewFileStore(""); err == nil {
		t.Fatal("empty dir accepted")
	}
}

// flakyStore fails Get with err for every key unless err is nil.
type flakyStore struct {
	name string
	err  error
	m    *MemoryStore
	gets atomic.Int32
}

func newFlaky(name string) *flakyStore { return &flakyStore{name: name, m: NewMemoryStore()} }

func (f *flakyStore) Get(ctx context.Context, key string) ([]byte, error) {
	f.gets.Add(1)
	if f.err != nil {
		return nil, &StoreError{Backend: f.name, Op: "get", Key: key, Err: f.err}
	}
	return f.m.Get(ctx, key)
}
func (f *flakyStore) Set(ctx context.Context, key string, v []byte) error {
	return f.m.Set(ctx, key, v)
}
func (f *flakyStore) Delete(ctx context.Context, key string) error { return f.m.Delete(ctx, key) }

func TestChainReportsBackendAndFallsBackOnlyAsConfigured(t *testing.T) {
	ctx := context.Background()
	keyring, file := newFlaky("keyring"), newFlaky("file")
	file.m.Set(ctx, "api-key", []byte("from-file"))

	// Default: a fallback only for "not found".
	c, err := NewChain(Backend{"keyring", keyring}, Fallback(Backend{"file", file}, WhenNotFound))
	if err != nil {
		t.Fatal(err)
	}
	v, from, err := c.Lookup(ctx, "api-key")
	if err != nil || string(v) != "from-file" || from != "file" {
		t.Fatalf("Lookup = %q from %q, %v", v, from, err)
	}
	keyring.m.Set(ctx, "api-key", []byte("from-keyring"))
	v, from, _ = c.Lookup(ctx, "api-key")
	if string(v) != "from-keyring" || from != "keyring" {
		t.Fatalf("Lookup = %q from %q", v, from)
	}

	// The keyring is locked: no silent fallback to the file.
	for _, e := range []error{ErrLocked, ErrUnavailable, ErrTimeout} {
		keyring.err = e
		before := file.gets.Load()
		_, _, err = c.Lookup(ctx, "api-key")
		if !errors.Is(err, e) {
			t.Fatalf("%v: Lookup = %v", e, err)
		}
		if file.gets.Load() != before {
			t.Fatalf("%v: fell back to the file store without WhenUnavailable", e)
		}
	}
	// A failure that is neither: never falls back.
	keyring.err = ErrInsecureFile
	if _, _, err = c.Lookup(ctx, "api-key"); !errors.Is(err, ErrInsecureFile) {
		t.Fatalf("insecure: %v", err)
	}

	// Configured to fall back when unavailable: it does, and says so.
	var served []string
	c2, _ := NewChain(Backend{"keyring", keyring}, Fallback(Backend{"file", file}, WhenNotFound|WhenUnavailable),
		WithOnServe(func(key, backend string) { served = append(served, key+"@"+backend) }))
	keyring.err = ErrLocked
	v, from, err = c2.Lookup(ctx, "api-key")
	if err != nil || from != "file" || string(v) != "from-file" {
		t.Fatalf("WhenUnavailable: %q from %q, %v", v, from, err)
	}
	if len(served) != 1 || served[0] != "api-key@file" {
		t.Fatalf("OnServe = %v", served)
	}
	// Both fail: the error names both and matches both.
	_, _, err = c2.Lookup(ctx, "missing")
	var ce *ChainError
	if !errors.As(err, &ce) || !errors.Is(err, ErrLocked) || !errors.Is(err, ErrNotFound) || len(ce.Backends) != 2 {
		t.Fatalf("both failed: %v", err)
	}
	if g, _ := c2.Get(ctx, "api-key"); string(g) != "from-file" {
		t.Fatalf("Get = %q", g)
	}

	// A new secret goes to the primary only; Delete removes every copy (a
	// fallback must not serve a deleted secret).
	keyring.err = nil
	if err := c2.Set(ctx, "new", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := file.m.Get(ctx, "new"); !errors.Is(err, ErrNotFound) {
		t.Fatal("Set wrote to the fallback")
	}
	if err := c2.Delete(ctx, "api-key"); err != nil {
		t.Fatal(err)
	}
	if _, err := file.m.Get(ctx, "api-key"); !errors.Is(err, ErrNotFound) {
		t.Fatal("Delete left the fallback's copy")
	}
	if got := c2.Backends(); len(got) != 2 || got[0] != "keyring" || got[1] != "file" {
		t.Fatalf("Backends = %v", got)
	}
}

func TestChainConfigErrors(t *testing.T) {
	m := NewMemoryStore()
	for name, tc := range map[string]struct {
		primary Backend
		opts    []ChainOption
	}{
		"no name":      {Backend{"", m}, nil},
		"nil store":    {Backend{"a", nil}, nil},
		"duplicate":    {Backend{"a", m}, []ChainOption{Fallback(Backend{"a", m}, WhenNotFound)}},
		"no condition": {Backend{"a", m}, []ChainOption{Fallback(Backend{"b", m}, 0)}},
	} {
		var ce *ConfigError
		if _, err := NewChain(tc.primary, tc.opts...); !errors.As(err, &ce) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// countingStore counts backend reads.
type countingStore struct {
	*MemoryStore
	gets    atomic.Int32
	release chan struct{}
}

func (c *countingStore) Get(ctx context.Context, key string) ([]byte, error) {
	c.gets.Add(1)
	if c.release != nil {
		<-c.release
	}
	return c.MemoryStore.Get(ctx, key)
}

func TestCachedStore(t *testing.T) {
	ctx := context.Background()
	back := &countingStore{MemoryStore: NewMemoryStore()}
	back.MemoryStore.Set(ctx, "k", []byte("v1"))
	var changed []string
	c, err := NewCachedStore(back, WithOnChange(func(k string) { changed = append(changed, k) }))
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if v, err := c.Get(ctx, "k"); err != nil || string(v) != "v1" {
			t.Fatalf("Get = %q %v", v, err)
		}
	}
	if n := back.gets.Load(); n != 1 {
		t.Fatalf("%d backend reads, want 1", n)
	}
	v, _ := c.Get(ctx, "k")
	v[0] = 'X'
	if v2, _ := c.Get(ctx, "k"); string(v2) != "v1" {
		t.Fatal("Get returned the cached slice")
	}

	// Rotation: the backend changes; Refresh picks it up and fires the hook.
	back.MemoryStore.Set(ctx, "k", []byte("v2"))
	if v, _ := c.Get(ctx, "k"); string(v) != "v1" {
		t.Fatal("cache did not hold the old value")
	}
	if v, err := c.Refresh(ctx, "k"); err != nil || string(v) != "v2" {
		t.Fatalf("Refresh = %q %v", v, err)
	}
	if len(changed) != 1 || changed[0] != "k" {
		t.Fatalf("OnChange calls = %v", changed)
	}
	c.Refresh(ctx, "k") // unchanged: no hook
	if len(changed) != 1 {
		t.Fatalf("OnChange fired for an unchanged value: %v", changed)
	}

	// Write-through.
	if err := c.Set(ctx, "k", []byte("v3")); err != nil {
		t.Fatal(err)
	}
	reads := back.gets.Load()
	if v, _ := c.Get(ctx, "k"); string(v) != "v3" || back.gets.Load() != reads {
		t.Fatalf("Set not cached: %q", v)
	}
	if v, _ := back.MemoryStore.Get(ctx, "k"); string(v) != "v3" {
		t.Fatal("Set not written through")
	}
	if err := c.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, "k"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after Delete: %v", err)
	}
	// Not-found is not cached.
	back.MemoryStore.Set(ctx, "k", []byte("v4"))
	if v, err := c.Get(ctx, "k"); err != nil || string(v) != "v4" {
		t.Fatalf("after re-provisioning: %q %v", v, err)
	}
	c.Forget("k")
	reads = back.gets.Load()
	c.Get(ctx, "k")
	if back.gets.Load() != reads+1 {
		t.Fatal("Forget did not drop the value")
	}
}

func TestCachedStoreMaxAge(t *testing.T) {
	ctx := context.Background()
	back := &countingStore{MemoryStore: NewMemoryStore()}
	back.MemoryStore.Set(ctx, "k", []byte("v"))
	c, _ := NewCachedStore(back, WithMaxAge(time.Nanosecond))
	c.Get(ctx, "k")
	time.Sleep(time.Millisecond)
	c.Get(ctx, "k")
	if n := back.gets.Load(); n != 2 {
		t.Fatalf("%d reads with an expired max age, want 2", n)
	}
	if _, err := NewCachedStore(back, WithMaxAge(-1)); err == nil {
		t.Fatal("negative max age accepted")
	}
	if _, err := NewCachedStore(nil); err == nil {
		t.Fatal("nil store accepted")
	}
}

func TestCachedStoreConcurrentFirstReadsShareOneRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		back := &countingStore{MemoryStore: NewMemoryStore(), release: make(chan struct{})}
		back.MemoryStore.Set(ctx, "k", []byte("v"))
		c, _ := NewCachedStore(back)
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				if v, err := c.Get(ctx, "k"); err != nil || !bytes.Equal(v, []byte("v")) {
					t.Errorf("Get = %q %v", v, err)
				}
			})
		}
		synctest.Wait() // every Get is blocked: one in the backend, the rest on it
		close(back.release)
		wg.Wait()
		if n := back.gets.Load(); n != 1 {
			t.Fatalf("%d backend reads for 20 concurrent first Gets, want 1", n)
		}

		// A caller that gives up does not wait for the read.
		back2 := &countingStore{MemoryStore: NewMemoryStore(), release: make(chan struct{})}
		c2, _ := NewCachedStore(back2)
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan error)
		go func() { _, err := c2.Get(cctx, "k"); done <- err }()
		synctest.Wait()
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled Get = %v", err)
		}
		close(back2.release)
	})
}

func TestStoreSource(t *testing.T) {
	ctx := context.Background()
	m := NewMemoryStore()
	src := StoreSource(m, "api-key", "")
	if _, err := src.Token(ctx); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
	m.Set(ctx, "api-key", []byte("k-1"))
	tok, err := src.Token(ctx)
	if err != nil || tok.HeaderValue() != "k-1" || !tok.Expiry().IsZero() {
		t.Fatalf("Token = %v %v", tok, err)
	}
	m.Set(ctx, "api-key", nil)
	if _, err := src.Token(ctx); !errors.Is(err, ErrNoToken) {
		t.Fatalf("empty: %v", err)
	}
	if v, _ := FromStore(m, "api-key")(ctx); len(v) != 0 {
		t.Fatal("FromStore")
	}
	b := []byte("x")
	f := StaticSecret(b)
	b[0] = 'y'
	if v, _ := f(ctx); string(v) != "x" {
		t.Fatal("StaticSecret did not copy")
	}
}

// slowReadStore reads the backend value at once and answers only when
// release is closed: a read that was in flight while a write happened.
type slowReadStore struct {
	*MemoryStore
	release chan struct{}
}

func (s *slowReadStore) Get(ctx context.Context, key string) ([]byte, error) {
	v, err := s.MemoryStore.Get(ctx, key)
	<-s.release
	return v, err
}

// A backend read that began before a Set, Delete or Forget must not put
// its older answer in the cache when it ends: the cache would then serve a
// superseded secret (a rotated refresh token's predecessor, a deleted key)
// until a Refresh, although the backend holds the new state.
func TestCachedStoreInFlightReadDoesNotOverwriteNewerWrite(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(c *CachedStore) error
		want  string // "" for not found
	}{
		{"set", func(c *CachedStore) error { return c.Set(context.Background(), "k", []byte("new")) }, "new"},
		{"delete", func(c *CachedStore) error { return c.Delete(context.Background(), "k") }, ""},
		{"forget then re-provision", func(c *CachedStore) error {
			c.Forget("k")
			return c.s.(*slowReadStore).MemoryStore.Set(context.Background(), "k", []byte("new"))
		}, "new"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				back := &slowReadStore{MemoryStore: NewMemoryStore(), release: make(chan struct{})}
				back.MemoryStore.Set(ctx, "k", []byte("old"))
				c, _ := NewCachedStore(back)
				done := make(chan struct{})
				go func() {
					defer close(done)
					c.Get(ctx, "k") // reads "old", answers later
				}()
				synctest.Wait()
				if err := tc.write(c); err != nil {
					t.Fatal(err)
				}
				close(back.release) // the old read ends now
				<-done
				v, err := c.Get(ctx, "k")
				switch {
				case tc.want == "" && !errors.Is(err, ErrNotFound):
					t.Fatalf("Get after %s = %q %v, want ErrNotFound", tc.name, v, err)
				case tc.want != "" && (err != nil || string(v) != tc.want):
					t.Fatalf("Get after %s = %q %v, want %q", tc.name, v, err, tc.want)
				}
			})
		})
	}
}

// WithTrimNewline strips one trailing "\n" or "\r\n", nothing else: a
// secret that really ends in "\r" is returned byte for byte.
func TestFileStoreTrimNewlineOnlyNewlines(t *testing.T) {
	dir := t.TempDir()
	s, _ := NewFileStore(dir, WithTrimNewline())
	for in, want := range map[string]string{"k1\n": "k1", "k2\r\n": "k2", "k3\r": "k3\r", "k4\n\n": "k4\n", "k5": "k5"} {
		if err := os.WriteFile(filepath.Join(dir, "key"), []byte(in), 0o600); err != nil {
			t.Fatal(err)
		}
		if v, err := s.Get(context.Background(), "key"); err != nil || string(v) != want {
			t.Errorf("file %q: Get = %q %v, want %q", in, v, err, want)
		}
	}
}

// Set makes the rename durable: the store's directory is synced after the
// new file is in place (before Set returns), and a failed sync is Set's
// error, so a caller never believes a rotated refresh token saved when a
// crash could still bring back the old one.
func TestFileStoreSetSyncsTheDirectory(t *testing.T) {
	s, dir := newFileStore(t)
	orig := syncDir
	t.Cleanup(func() { syncDir = orig })
	ctx := context.Background()
	if err := s.Set(ctx, "k", []byte("v1")); err != nil {
		t.Fatal(err)
	}
	var synced []string
	syncDir = func(d string) error {
		if b, err := os.ReadFile(filepath.Join(d, "k")); err != nil || string(b) != "v2" {
			t.Errorf("directory synced before the new file was in place: %q, %v", b, err)
		}
		synced = append(synced, d)
		return orig(d)
	}
	if err := s.Set(ctx, "k", []byte("v2")); err != nil {
		t.Fatal(err)
	}
	if len(synced) != 1 || synced[0] != dir {
		t.Fatalf("directories synced: %v; want [%s]", synced, dir)
	}
	failed := errors.New("disk gone")
	syncDir = func(string) error { return failed }
	if err := s.Set(ctx, "k", []byte("v3")); !errors.Is(err, failed) {
		t.Fatalf("Set with a failing directory sync: %v; want the sync's error", err)
	}
}

// slowWriteStore applies a write to the backend at once and answers only
// when release[value] is closed: a write whose caller is still waiting
// while a later write or delete lands and answers.
type slowWriteStore struct {
	*MemoryStore
	release map[string]chan struct{}
}

func (s *slowWriteStore) Set(ctx context.Context, key string, v []byte) error {
	err := s.MemoryStore.Set(ctx, key, v)
	if ch := s.release[string(v)]; ch != nil {
		<-ch
	}
	return err
}

// Concurrent writes of one key must leave the cache agreeing with the
// backend: a Set whose answer comes after a later write or delete has
// landed and been cached must not cache its own, superseded value (a
// rotated refresh token's predecessor), which Get would then serve until
// a Refresh although the backend holds the newer state.
func TestCachedStoreConcurrentWritesAgreeWithBackend(t *testing.T) {
	for _, tc := range []struct {
		name  string
		later func(c *CachedStore) error
		want  string // "" for not found
	}{
		{"set", func(c *CachedStore) error { return c.Set(context.Background(), "k", []byte("new")) }, "new"},
		{"delete", func(c *CachedStore) error { return c.Delete(context.Background(), "k") }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				back := &slowWriteStore{MemoryStore: NewMemoryStore(), release: map[string]chan struct{}{"old": make(chan struct{})}}
				c, _ := NewCachedStore(back)
				done := make(chan error)
				go func() { done <- c.Set(ctx, "k", []byte("old")) }() // lands now, answers later
				synctest.Wait()
				if err := tc.later(c); err != nil {
					t.Fatal(err)
				}
				close(back.release["old"])
				if err := <-done; err != nil {
					t.Fatal(err)
				}
				v, err := c.Get(ctx, "k")
				switch {
				case tc.want == "" && !errors.Is(err, ErrNotFound):
					t.Fatalf("Get after a concurrent %s = %q %v, want ErrNotFound as in the backend", tc.name, v, err)
				case tc.want != "" && (err != nil || string(v) != tc.want):
					t.Fatalf("Get after a concurrent %s = %q %v, want %q as in the backend", tc.name, v, err, tc.want)
				}
			})
		})
	}
}
