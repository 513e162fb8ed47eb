package transport

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/securecall/securecall/internal/testpki"
)

// A Kubernetes secret volume rotates both files at once: the kubelet
// writes a new timestamped directory and renames the "..data" symlink
// over to it, and tls.crt and tls.key are symlinks through "..data". A
// reload reads the two files one after the other, so a swap between the
// two reads gave it the old certificate and the new key, a pair that never
// was on disk: the rotation was reported to the reload hook (and Base's
// reload metric) as a failure, "private key does not match public key",
// and the new certificate waited another reload interval. A pair that does
// not load is read again once; when the files changed in between, the
// second reading is the one used.
func TestClientCertificateReloadAcrossSymlinkSwap(t *testing.T) {
	ca, err := testpki.NewCA("client root")
	if err != nil {
		t.Fatal(err)
	}
	a, err := ca.Client("a")
	if err != nil {
		t.Fatal(err)
	}
	b, err := ca.Client("b")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, l := range map[string]*testpki.Leaf{"..2026_a": a, "..2026_b": b} {
		if err := os.Mkdir(filepath.Join(dir, name), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := l.WriteFiles(filepath.Join(dir, name, "tls.crt"), filepath.Join(dir, name, "tls.key")); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("..2026_a", filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"tls.crt", "tls.key"} {
		if err := os.Symlink(filepath.Join("..data", f), filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	var reported []error
	cc, err := NewClientCertificateFromFiles(filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"),
		WithCertificateReloadHook(func(err error) {
			mu.Lock()
			reported = append(reported, err)
			mu.Unlock()
		}))
	if err != nil {
		t.Fatal(err)
	}

	// The kubelet's swap, between the reload's read of tls.crt and its
	// read of tls.key.
	swapped := false
	testHookBetweenReads = func() {
		if swapped {
			return
		}
		swapped = true
		tmp := filepath.Join(dir, "..data_tmp")
		if err := os.Symlink("..2026_b", tmp); err != nil {
			t.Error(err)
			return
		}
		if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
			t.Error(err)
		}
	}
	t.Cleanup(func() { testHookBetweenReads = nil })

	err = cc.Reload()
	if !swapped {
		t.Fatal("the swap did not happen between the two reads")
	}
	if err != nil {
		t.Fatalf("Reload across a symlink swap: %v, want the new pair installed", err)
	}
	if got := cc.Certificate().Leaf.SerialNumber; got.Cmp(b.Cert.SerialNumber) != 0 {
		t.Fatalf("certificate in use has serial %v, want the new one's %v", got, b.Cert.SerialNumber)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reported) != 1 || reported[0] != nil {
		t.Fatalf("reload hook got %v, want one nil (installed)", reported)
	}
}
