package transport

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// TestClientCertificateReloadReportsPendingEveryTime: Reload returned nil
// for a renewal held back until its NotBefore once a check had already
// read it (an automatic check at a handshake, or an earlier Reload), so a
// rotation job calling Reload after writing the files was told the new
// certificate was in use while the old one was still presented. Every
// Reload returns ErrCertificateNotYetValid while the files hold a renewal
// held back; the hook is still called once for it.
func TestClientCertificateReloadReportsPendingEveryTime(t *testing.T) {
	w := newSkewWorld(t)
	now := time.Now()
	a := w.leaf(t, "A", now.Add(-time.Hour), now.Add(24*time.Hour))
	b := w.leaf(t, "B", now.Add(time.Hour), now.Add(48*time.Hour))
	if err := a.WriteFiles(w.certFile, w.keyFile); err != nil {
		t.Fatal(err)
	}
	cc := w.clientCert(t)
	base := w.base(t, cc, nil)
	if err := w.get(base); err != nil {
		t.Fatal(err)
	}
	if err := b.WriteFiles(w.certFile, w.keyFile); err != nil {
		t.Fatal(err)
	}
	base.CloseIdleConnections()
	if err := w.get(base); err != nil { // the automatic check finds B first
		t.Fatal(err)
	}
	for i := range 2 {
		if err := cc.Reload(); !errors.Is(err, ErrCertificateNotYetValid) {
			t.Fatalf("Reload %d with B held back (A in use): %v, want ErrCertificateNotYetValid", i, err)
		}
	}
	if got := cc.Certificate().Leaf.Subject.CommonName; got != "A" {
		t.Fatalf("certificate in use %q, want A", got)
	}
	if errs := w.hookCalls(); len(errs) != 1 || !errors.Is(errs[0], ErrCertificateNotYetValid) {
		t.Fatalf("reload hook calls %v, want one ErrCertificateNotYetValid", errs)
	}

	w.skew.Store(int64(time.Hour + time.Minute))
	if err := cc.Reload(); err != nil {
		t.Fatalf("Reload after B's NotBefore: %v", err)
	}
	if err := cc.Reload(); err != nil {
		t.Fatalf("Reload with B installed: %v", err)
	}
	base.CloseIdleConnections()
	if err := w.get(base); err != nil {
		t.Fatal(err)
	}
	if got, want := w.presented(), []string{"A", "A", "B"}; !slices.Equal(got, want) {
		t.Fatalf("server saw %v, want %v", got, want)
	}
}
