package transport_test

import (
	"crypto/tls"
	"io"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecall/securecall/internal/childtest"
	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// A ClientCertificate checks its files in GetClientCertificate, inside the
// TLS handshake, which net/http's Transport makes on a dialing goroutine
// of its own, where no caller's recover reaches: a reload hook that
// panicked there (a bug in it) ended the whole process. The panic is
// recovered and logged (slog's default logger, naming its type only); the reload it reported stands.
func TestClientCertificateReloadHookPanicInHandshake(t *testing.T) {
	childtest.Run(t, func(t *testing.T) {
		m := newMTLSWorld(t, false)
		var calls atomic.Int32
		cc := pkiMust(transport.NewClientCertificateFromFiles(m.certFile, m.keyFile,
			transport.WithCertificateReloadInterval(time.Nanosecond),
			transport.WithCertificateReloadHook(func(error) {
				calls.Add(1)
				panic("hook bug")
			})))
		if err := m.b.WriteFiles(m.certFile, m.keyFile); err != nil {
			t.Fatal(err)
		}
		// A tls.Config of the caller's own, as GetClientCertificate's doc
		// offers: only the handshake checks the files.
		tr := &http.Transport{TLSClientConfig: &tls.Config{
			RootCAs:              testpki.Pool(m.pki.ca),
			GetClientCertificate: cc.GetClientCertificate,
		}}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr}).Get("https://" + m.srv + "/")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if got := m.seen(); !slices.Equal(got, []string{"B"}) || calls.Load() != 1 {
			t.Fatalf("server saw %v, %d hook calls; want [B], 1", got, calls.Load())
		}
	})
}
