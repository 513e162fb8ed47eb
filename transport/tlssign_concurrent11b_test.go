package transport_test

import (
	"context"
	"crypto"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// kmsThrottled is a remote signer's transient failure whose text names
// the call (as a KMS's request id does): no two failures read alike.
type kmsThrottled struct{ id int64 }

func (e kmsThrottled) Error() string {
	return fmt.Sprintf("kms: Sign, RequestID: %d, ThrottlingException", e.id)
}
func (kmsThrottled) Temporary() bool { return true }

// orderedKMS fails every signature with a kmsThrottled of its own. Its
// second call returns only once the first call's handshake reached its
// connection's Close (net/http closes it before it returns the error).
type orderedKMS struct {
	pub        crypto.PublicKey
	n          atomic.Int64
	firstClose chan struct{}
}

func (k *orderedKMS) Public() crypto.PublicKey { return k.pub }

func (k *orderedKMS) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	id := k.n.Add(1)
	if id == 2 {
		<-k.firstClose
	}
	return nil, kmsThrottled{id: id}
}

// closeOrderConn: the first connection closed waits for the second one's
// Close before it returns.
type closeOrderConn struct {
	net.Conn
	o    *closeOrder
	once sync.Once
}

type closeOrder struct {
	n      atomic.Int64
	first  chan struct{} // closed when the first Close starts
	second chan struct{} // closed when the second Close starts
}

func (c *closeOrderConn) Close() error {
	c.once.Do(func() {
		switch c.o.n.Add(1) {
		case 1:
			close(c.o.first)
			<-c.o.second
		case 2:
			close(c.o.second)
		}
	})
	return c.Conn.Close()
}

// Two handshakes whose remote signer fails transiently at the same time,
// each with its own text: each call's error is the signer's transient
// failure, never sent and retried, whichever failure the Base saw last.
func TestClientKeyConcurrentTransientSignerFailures(t *testing.T) {
	w := newPKIWorld(t)
	clientCA := pkiMust(testpki.NewCA("client root"))
	client := pkiMust(clientCA.Client("svc"))
	srv := pkiServer(t, w.leaf.TLS, true, nil, func(c *tls.Config) {
		c.ClientAuth = tls.RequireAndVerifyClientCert
		c.ClientCAs = testpki.Pool(clientCA)
		c.MaxVersion = tls.VersionTLS13
	})
	o := &closeOrder{first: make(chan struct{}), second: make(chan struct{})}
	kms := &orderedKMS{pub: client.Key.Public(), firstClose: o.first}
	cert := client.TLS
	cert.PrivateKey = kms
	dial := pkiDialTo(srv.Listener.Addr().String())
	b := pkiBase(t, transport.BaseConfig{
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &closeOrderConn{Conn: c, o: o}, nil
		},
	}, srv, w.ca)

	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			req, _ := http.NewRequest("GET", "https://api.example.test/", nil)
			_, errs[i] = b.RoundTrip(req)
		})
	}
	wg.Wait()
	if kms.n.Load() != 2 {
		t.Fatalf("%d signatures, want 2", kms.n.Load())
	}
	for _, err := range errs {
		if err == nil {
			t.Fatal("a call succeeded")
		}
		if _, ok := errors.AsType[kmsThrottled](err); !ok {
			t.Errorf("%v does not carry the signer's error", err)
		}
		v := transport.Classify(context.Background(), nil, err, time.Now())
		if v.Class != transport.ClassNeverSent || v.Breaker != transport.BreakerExcluded {
			t.Errorf("%v classified %+v, want never sent, excluded from the breaker", err, v)
		}
	}
}
