package transport

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// TestClientCertificateUpdateNotYetValidRefused: Update installed a
// certificate whose NotBefore was still ahead at once, while the one in
// use was valid, and the server refused every handshake until that
// NotBefore (the file reload path holds such a renewal back). Update now
// refuses it with an error wrapping ErrCertificateNotYetValid, reported to
// the hook, and the certificate in use stays; the same certificate is
// taken once its NotBefore has passed.
func TestClientCertificateUpdateNotYetValidRefused(t *testing.T) {
	w := newSkewWorld(t)
	now := time.Now()
	a := w.leaf(t, "A", now.Add(-time.Hour), now.Add(24*time.Hour))
	b := w.leaf(t, "B", now.Add(time.Hour), now.Add(48*time.Hour))
	cc, err := NewClientCertificateFromPEM(a.CertPEM, a.KeyPEM, WithCertificateReloadHook(w.hook))
	if err != nil {
		t.Fatal(err)
	}
	cc.clk = clock{Now: w.now, Mono: monoTicks}
	base := w.base(t, cc, nil)
	if err := w.get(base); err != nil {
		t.Fatal(err)
	}

	err = cc.Update(b.CertPEM, b.KeyPEM)
	if !errors.Is(err, ErrCertificateNotYetValid) {
		t.Fatalf("Update with a certificate valid only in an hour: %v, want ErrCertificateNotYetValid", err)
	}
	if got := cc.Certificate().Leaf.Subject.CommonName; got != "A" {
		t.Fatalf("certificate in use %q after a refused Update, want A", got)
	}
	base.CloseIdleConnections()
	if err := w.get(base); err != nil {
		t.Fatalf("call after Update with a certificate not yet valid: %v", err)
	}
	if errs := w.hookCalls(); len(errs) != 1 || !errors.Is(errs[0], ErrCertificateNotYetValid) {
		t.Fatalf("reload hook calls %v, want one ErrCertificateNotYetValid", errs)
	}

	w.skew.Store(int64(time.Hour + time.Minute)) // both clocks past B's NotBefore
	if err := cc.Update(b.CertPEM, b.KeyPEM); err != nil {
		t.Fatalf("Update after the certificate's NotBefore: %v", err)
	}
	if err := w.get(base); err != nil {
		t.Fatal(err)
	}
	if got, want := w.presented(), []string{"A", "A", "B"}; !slices.Equal(got, want) {
		t.Fatalf("server saw %v, want %v", got, want)
	}
}

// TestClientCertificateUpdateNotYetValidOverExpired: with no valid
// certificate in use (the current one has expired), Update installs a
// certificate not yet valid at once, as the file reload does: every
// server refuses the expired one, a server whose clock is ahead of ours
// may accept the new one.
func TestClientCertificateUpdateNotYetValidOverExpired(t *testing.T) {
	w := newSkewWorld(t)
	now := time.Now()
	a := w.leaf(t, "A", now.Add(-time.Hour), now.Add(30*time.Minute))
	b := w.leaf(t, "B", now.Add(2*time.Hour), now.Add(48*time.Hour))
	cc, err := NewClientCertificateFromPEM(a.CertPEM, a.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	cc.clk = clock{Now: w.now, Mono: monoTicks}
	w.skew.Store(int64(time.Hour)) // A expired, B not yet valid
	if err := cc.Update(b.CertPEM, b.KeyPEM); err != nil {
		t.Fatalf("Update with a certificate not yet valid over an expired one: %v", err)
	}
	if got := cc.Certificate().Leaf.Subject.CommonName; got != "B" {
		t.Fatalf("certificate in use %q, want B", got)
	}
}

// TestClientCertificateUpdateNotYetValidKeepsPending: a refused Update of
// a file-based certificate leaves a renewal held back from the files
// alone; it is still installed at its NotBefore.
func TestClientCertificateUpdateNotYetValidKeepsPending(t *testing.T) {
	w := newSkewWorld(t)
	now := time.Now()
	a := w.leaf(t, "A", now.Add(-time.Hour), now.Add(24*time.Hour))
	b := w.leaf(t, "B", now.Add(time.Hour), now.Add(48*time.Hour))
	c := w.leaf(t, "C", now.Add(3*time.Hour), now.Add(48*time.Hour))
	if err := a.WriteFiles(w.certFile, w.keyFile); err != nil {
		t.Fatal(err)
	}
	cc := w.clientCert(t)
	if err := b.WriteFiles(w.certFile, w.keyFile); err != nil {
		t.Fatal(err)
	}
	if err := cc.Reload(); !errors.Is(err, ErrCertificateNotYetValid) {
		t.Fatalf("Reload of a renewal not yet valid: %v", err)
	}
	if err := cc.Update(c.CertPEM, c.KeyPEM); !errors.Is(err, ErrCertificateNotYetValid) {
		t.Fatalf("Update with a certificate valid only in three hours: %v, want ErrCertificateNotYetValid", err)
	}
	w.skew.Store(int64(time.Hour + time.Minute))
	if _, err := cc.GetClientCertificate(nil); err != nil {
		t.Fatal(err)
	}
	if got := cc.Certificate().Leaf.Subject.CommonName; got != "B" {
		t.Fatalf("certificate in use %q after the pending renewal's NotBefore, want B", got)
	}
}
