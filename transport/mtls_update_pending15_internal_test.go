package transport

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// TestClientCertificateUpdateSupersedesPending: a renewal on disk held
// back until its NotBefore was dropped by an Update that installed a
// certificate, but the next check read the same files again as new
// content, held the renewal back once more and installed it at its
// NotBefore, replacing what Update installed (the caller, told nil, had
// no way to know). An installed Update supersedes the pending renewal:
// the files take over again only when their content changes.
func TestClientCertificateUpdateSupersedesPending(t *testing.T) {
	w := newSkewWorld(t)
	now := time.Now()
	a := w.leaf(t, "A", now.Add(-time.Hour), now.Add(24*time.Hour))
	b := w.leaf(t, "B", now.Add(time.Hour), now.Add(48*time.Hour))
	c := w.leaf(t, "C", now.Add(-time.Minute), now.Add(72*time.Hour))
	d := w.leaf(t, "D", now.Add(-time.Minute), now.Add(96*time.Hour))
	if err := a.WriteFiles(w.certFile, w.keyFile); err != nil {
		t.Fatal(err)
	}
	cc := w.clientCert(t)
	base := w.base(t, cc, nil)
	if err := b.WriteFiles(w.certFile, w.keyFile); err != nil {
		t.Fatal(err)
	}
	if err := cc.Reload(); !errors.Is(err, ErrCertificateNotYetValid) {
		t.Fatalf("Reload of a renewal not yet valid: %v", err)
	}
	if err := cc.Update(c.CertPEM, c.KeyPEM); err != nil {
		t.Fatalf("Update: %v", err)
	}
	if err := cc.Reload(); err != nil {
		t.Fatalf("Reload after Update, files unchanged: %v, want nil", err)
	}
	if err := w.get(base); err != nil { // an automatic check
		t.Fatal(err)
	}

	w.skew.Store(int64(time.Hour + time.Minute)) // past B's NotBefore
	base.CloseIdleConnections()
	if err := w.get(base); err != nil {
		t.Fatal(err)
	}
	if got := cc.Certificate().Leaf.Subject.CommonName; got != "C" {
		t.Fatalf("certificate in use %q after the dropped renewal's NotBefore, want C (installed by Update)", got)
	}
	if errs := w.hookCalls(); len(errs) != 2 || !errors.Is(errs[0], ErrCertificateNotYetValid) || errs[1] != nil {
		t.Fatalf("reload hook calls %v, want [ErrCertificateNotYetValid, nil]", errs)
	}

	// New content on disk takes over again.
	if err := d.WriteFiles(w.certFile, w.keyFile); err != nil {
		t.Fatal(err)
	}
	base.CloseIdleConnections()
	if err := w.get(base); err != nil {
		t.Fatal(err)
	}
	if got, want := w.presented(), []string{"C", "C", "D"}; !slices.Equal(got, want) {
		t.Fatalf("server saw %v, want %v", got, want)
	}
}
