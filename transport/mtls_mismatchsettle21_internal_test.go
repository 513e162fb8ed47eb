package transport

import (
	"os"
	"slices"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// A rotation that writes the two files one after the other, not at once
// (the certificate, then the key), read by an automatic check between the
// writes, holds a certificate and a key that do not match. It was
// reported at once as a failed reload (the hook's error, Base's reload
// metric "failure"), although the writer's second write, moments later,
// made a good pair: an alert on every such rotation. A mismatch read by an
// automatic check is now reported only when a check at least
// chainSettleInterval later finds the files the same (a check is due then
// whatever the reload interval), and once for those files; until then
// nothing is reported and the certificate in use stays. Reload still
// returns it at once.
func TestClientCertificateReloadWaitsForMismatchToSettle(t *testing.T) {
	w := newSkewWorld(t)
	a, b := w.leaf(t, "svc-a", time.Now().Add(-time.Hour), time.Now().Add(time.Hour)),
		w.leaf(t, "svc-b", time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if err := a.WriteFiles(w.certFile, w.keyFile); err != nil {
		t.Fatal(err)
	}
	cc := w.clientCert(t)
	var clk chainCutClock
	cc.clk = clk.clock()
	reader := sdkmetric.NewManualReader()
	base := w.base(t, cc, sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))
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
	call("start") // A

	// A rotation to B, the certificate first: a check between the writes.
	write(w.certFile, b.CertPEM)
	call("B's certificate written, its key not yet") // still A
	call("again, before the files settled")          // still A
	if errs := w.hookCalls(); len(errs) != 0 {
		t.Fatalf("reload hook after half a rotation: %v, want no call (the files may still be changing)", errs)
	}
	write(w.keyFile, b.KeyPEM)
	call("B written whole") // B
	if errs := w.hookCalls(); len(errs) != 1 || errs[0] != nil {
		t.Fatalf("reload hook after the rotation: %v, want one nil (B installed)", errs)
	}
	if got := reloadOutcomes(t, reader); got["failure"] != 0 || got["success"] != 1 {
		t.Fatalf("reload metric after the rotation: %v, want one success, no failure", got)
	}

	// A mismatch that stays: reported once it has settled, and once.
	write(w.certFile, a.CertPEM)
	call("A's certificate written, B's key stays") // still B
	if errs := w.hookCalls(); len(errs) != 1 {
		t.Fatalf("reload hook before the mismatch settled: %v, want B's nil alone", errs)
	}
	clk.ticks.Add(int64(chainSettleInterval))
	call("the mismatch settled")
	call("and checked again")
	errs := w.hookCalls()
	if len(errs) != 2 || errs[1] == nil {
		t.Fatalf("reload hook once the mismatch settled: %v, want B's nil and one error", errs)
	}
	if got := reloadOutcomes(t, reader); got["failure"] != 1 || got["success"] != 1 {
		t.Fatalf("reload metric once the mismatch settled: %v, want one success, one failure", got)
	}
	if err := cc.Reload(); err == nil {
		t.Fatal("Reload of a mismatched pair: nil, want the error")
	}
	if want := []string{"svc-a", "svc-a", "svc-a", "svc-b", "svc-b", "svc-b", "svc-b"}; !slices.Equal(w.presented(), want) {
		t.Fatalf("server saw %v, want %v", w.presented(), want)
	}
}
