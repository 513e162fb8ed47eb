package transport

import (
	"crypto/tls"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/securecall/securecall/internal/testpki"
)

// TestBaseConcurrentRotationsKeepNewest: two certificate rotations seen at
// the same moment. A sync that read generation n is held (the test hook)
// while another sees n+1 and installs its transport; the held one must
// then install nothing, or new calls would go over a transport made for
// the older generation, whose session cache partition holds sessions of
// the older certificate, and the generation would go backwards.
func TestBaseConcurrentRotationsKeepNewest(t *testing.T) {
	ca, _ := testpki.NewCA("c")
	a, _ := ca.Client("a")
	cc, err := NewClientCertificateFromPEM(a.CertPEM, a.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBase(BaseConfig{ClientCertificate: cc, TLSConfig: &tls.Config{ClientSessionCache: tls.NewLRUClientSessionCache(8)}})
	if err != nil {
		t.Fatal(err)
	}
	rotate := func() {
		l, _ := ca.Client("rot")
		if err := cc.Update(l.CertPEM, l.KeyPEM); err != nil {
			t.Fatal(err)
		}
	}
	rotate()
	older := cc.generation()

	var calls atomic.Int32
	reached, release := make(chan struct{}), make(chan struct{})
	b.testHookSync = func() {
		if calls.Add(1) == 1 { // the first sync only: hold it after it read the generation
			close(reached)
			<-release
		}
	}
	var wg sync.WaitGroup
	wg.Go(b.syncClientCertificate)
	<-reached
	rotate()
	newer := cc.generation()
	b.syncClientCertificate()
	installed := b.t.Load()
	close(release)
	wg.Wait()

	if newer <= older {
		t.Fatalf("generations %d then %d", older, newer)
	}
	if got := b.ccGen.Load(); got != newer {
		t.Fatalf("generation %d installed last, want %d", got, newer)
	}
	if b.t.Load() != installed {
		t.Fatal("the held sync of the older generation replaced the newer transport")
	}
	prefix := installed.TLSClientConfig.ClientSessionCache.(certEpochCache).prefix
	if want := "." + strconv.FormatUint(newer, 10) + "\x00"; !strings.HasSuffix(prefix, want) {
		t.Fatalf("session cache partition %q, want generation %d", prefix, newer)
	}
}
