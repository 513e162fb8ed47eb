package transport

import (
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/securecall/securecall/internal/testpki"
)

// An Update made while a file reload is between reading the files and
// installing them must win: the reload read its files before the Update,
// so installing them after it would silently undo the Update.
func TestClientCertificateUpdateDuringReloadWins(t *testing.T) {
	ca, err := testpki.NewCA("client root")
	if err != nil {
		t.Fatal(err)
	}
	var a, b, c *testpki.Leaf
	for _, l := range []**testpki.Leaf{&a, &b, &c} {
		if *l, err = ca.Client("svc"); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "c.crt"), filepath.Join(dir, "c.key")
	if err := a.WriteFiles(certFile, keyFile); err != nil {
		t.Fatal(err)
	}
	cc, err := NewClientCertificateFromFiles(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	// The files rotate to C; while the reload that reads them holds C
	// parsed but not installed, B is installed with Update.
	if err := c.WriteFiles(certFile, keyFile); err != nil {
		t.Fatal(err)
	}
	updated := make(chan error, 1)
	fired := false
	var updateDoneInWindow bool
	testHookReloadInstall = func() {
		if fired {
			return
		}
		fired = true
		go func() { updated <- cc.Update(b.CertPEM, b.KeyPEM) }()
		// Wait until the Update has either finished (it did not wait for
		// the reload) or is waiting for the reload lock.
		for {
			select {
			case err := <-updated:
				updated <- err
				updateDoneInWindow = true
				return
			default:
			}
			if blockedInUpdateLock() {
				return
			}
			runtime.Gosched()
		}
	}
	t.Cleanup(func() { testHookReloadInstall = nil })
	if err := cc.Reload(); err != nil {
		t.Fatal(err)
	}
	if err := <-updated; err != nil {
		t.Fatal(err)
	}
	if !fired {
		t.Fatal("hook not reached")
	}
	if updateDoneInWindow {
		t.Error("Update completed while a reload held the lock")
	}
	if got := cc.Certificate().Leaf.SerialNumber; got.Cmp(b.Cert.SerialNumber) != 0 {
		t.Fatalf("certificate in use has serial %v, want B's %v (the Update, made after the reload read its files)", got, b.Cert.SerialNumber)
	}
	// The files did not change since: a later reload keeps B.
	if err := cc.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := cc.Certificate().Leaf.SerialNumber; got.Cmp(b.Cert.SerialNumber) != 0 {
		t.Fatalf("after a reload of unchanged files: serial %v, want B's", got)
	}
}

// blockedInUpdateLock reports whether some goroutine is blocked acquiring
// a mutex inside (*ClientCertificate).Update.
func blockedInUpdateLock() bool {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if strings.Contains(g, "(*ClientCertificate).Update") && strings.Contains(g, "sync.(*Mutex).Lock") {
			return true
		}
	}
	return false
}
