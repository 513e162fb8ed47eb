package transport

import (
	"crypto/tls"
	"encoding/pem"
	"os"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecall/securecall/internal/testpki"
)

// chainCutClock is a ClientCertificate clock whose monotonic reading moves
// one nanosecond per reading (so that a reload interval of a nanosecond
// makes every request and handshake check the files) and as far as the
// test steps it: never with the machine's speed.
type chainCutClock struct{ ticks atomic.Int64 }

func (c *chainCutClock) clock() clock {
	base := monoTicks(time.Now()) // after the next check the constructor set
	return clock{Now: time.Now, Mono: func(time.Time) int64 { return base + c.ticks.Add(1) }}
}

// A rotation that rewrites the chain file in place in two writes (the
// leaf's block, then the intermediate's) can be read between them: the
// file then holds a whole PEM block and nothing else, which no check of
// the PEM can tell from a chain that is only a leaf, and the leaf matches
// the key. It was installed, and every handshake with a server that needs
// the intermediate from the client failed until the next check. A chain
// shorter than the one in use is now installed by an automatic check only
// when a read at least chainSettleInterval later finds the files the
// same; the writer's second write in between is what is installed, and
// the cut is not reported.
func TestClientCertificateReloadWaitsForChainCutBetweenBlocks(t *testing.T) {
	w := newSkewWorld(t) // its server trusts the client root alone
	mid, err := w.clientCA.Intermediate("client intermediate")
	if err != nil {
		t.Fatal(err)
	}
	a, err := mid.Client("svc-a")
	if err != nil {
		t.Fatal(err)
	}
	b, err := mid.Client("svc-b")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.WriteFiles(w.certFile, w.keyFile); err != nil {
		t.Fatal(err)
	}
	cc := w.clientCert(t)
	var clk chainCutClock
	cc.clk = clk.clock()
	base := w.base(t, cc, nil)
	call := func(step string) {
		t.Helper()
		base.CloseIdleConnections()
		if err := w.get(base); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	write := func(file string, b []byte) {
		t.Helper()
		if err := os.WriteFile(file, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	leafOnly := func(l *testpki.Leaf) []byte {
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: l.Chain[0].Raw})
	}
	call("start") // A

	// The same certificate written again in place, in two writes: read
	// after the first, the file holds A's leaf alone.
	write(w.certFile, leafOnly(a))
	call("A's leaf written, its intermediate not yet") // A with its intermediate
	if n := len(cc.Certificate().Certificate); n != 2 {
		t.Fatalf("A's leaf alone was read: the chain in use has %d certificates, want 2", n)
	}
	write(w.certFile, a.CertPEM)
	call("A written whole")

	// A rotation to B: the key first, then the chain in two writes.
	write(w.keyFile, b.KeyPEM)
	write(w.certFile, leafOnly(b))
	call("B's leaf written, its intermediate not yet") // still A
	if got := cc.Certificate(); got.Leaf.SerialNumber.Cmp(a.Cert.SerialNumber) != 0 || len(got.Certificate) != 2 {
		t.Fatalf("after B's leaf alone was read: serial %v with %d certificates, want A's with 2",
			got.Leaf.SerialNumber, len(got.Certificate))
	}
	write(w.certFile, b.CertPEM)
	call("B written whole") // B, with its intermediate
	if n := len(cc.Certificate().Certificate); n != 2 {
		t.Fatalf("chain presented after the rotation has %d certificates, want 2", n)
	}
	if want := []string{"svc-a", "svc-a", "svc-a", "svc-a", "svc-b"}; !slices.Equal(w.presented(), want) {
		t.Fatalf("server saw %v, want %v", w.presented(), want)
	}
	// The cuts were waited out, not reported: the hook heard of B alone.
	if errs := w.hookCalls(); len(errs) != 1 || errs[0] != nil {
		t.Fatalf("reload hook: %v, want one nil (B installed)", errs)
	}
}

// A chain made shorter on purpose (an intermediate the server holds
// anyway, dropped from the file) is installed by the first check at least
// chainSettleInterval after it was first read; and at once by Reload,
// which is called once the files are written.
func TestClientCertificateReloadInstallsShorterChainOnceSettled(t *testing.T) {
	w := newSkewWorld(t)
	mid, err := w.clientCA.Intermediate("client intermediate")
	if err != nil {
		t.Fatal(err)
	}
	a, err := mid.Client("svc-a")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.WriteFiles(w.certFile, w.keyFile); err != nil {
		t.Fatal(err)
	}
	cc := w.clientCert(t)
	var clk chainCutClock
	cc.clk = clk.clock()
	poll := func(n int) int {
		t.Helper()
		for range n {
			if _, err := cc.GetClientCertificate(&tls.CertificateRequestInfo{}); err != nil {
				t.Fatal(err)
			}
		}
		return len(cc.Certificate().Certificate)
	}
	leafOnly := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.Chain[0].Raw})
	if err := os.WriteFile(w.certFile, leafOnly, 0o600); err != nil {
		t.Fatal(err)
	}
	if n := poll(3); n != 2 {
		t.Fatalf("chain in use right after a shorter chain was read: %d certificates, want 2 (not settled)", n)
	}
	clk.ticks.Add(int64(chainSettleInterval))
	if n := poll(1); n != 1 {
		t.Fatalf("chain in use once the shorter chain settled: %d certificates, want 1", n)
	}
	if errs := w.hookCalls(); len(errs) != 1 || errs[0] != nil {
		t.Fatalf("reload hook: %v, want one nil (installed)", errs)
	}

	// Different content read in between starts the wait over.
	if err := os.WriteFile(w.certFile, a.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := cc.Reload(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(w.certFile, leafOnly, 0o600); err != nil {
		t.Fatal(err)
	}
	if n := poll(1); n != 2 {
		t.Fatalf("after the chain went back to two certificates and one was read again: %d, want 2", n)
	}
	if err := cc.Reload(); err != nil {
		t.Fatal(err)
	}
	if n := len(cc.Certificate().Certificate); n != 1 {
		t.Fatalf("chain in use after Reload read the shorter chain has %d certificates, want 1", n)
	}
}
