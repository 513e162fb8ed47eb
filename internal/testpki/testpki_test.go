package testpki_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/securecall/securecall/internal/testpki"
)

// pinVectorPEM is a certificate made with OpenSSL; pinVector is its pin as
// computed by OpenSSL:
//
//	openssl x509 -in v.pem -pubkey -noout | openssl pkey -pubin -outform der |
//	  openssl dgst -sha256 -binary | base64
const (
	pinVectorPEM = `-----BEGIN CERTIFICATE-----
MIIBgjCCASegAwIBAgIUR62+QB1+FWCYZOOJ9b78ajfNAQcwCgYIKoZIzj0EAwIw
FTETMBEGA1UEAwwKcGluIHZlY3RvcjAgFw0yNjExMjcwNTM2MzBaGA8yMTI2MTEw
MzA1MzYzMFowFTETMBEGA1UEAwwKcGluIHZlY3RvcjBZMBMGByqGSM49AgEGCCqG
SM49AwEHA0IABJAKFhqWHDTrX2AxWx/OakJ1U+q26REokuD2YTPHPiun/OFOPrvD
i1czmic/YKc8uauIyLC6F4D6IIGBTaTv2/CjUzBRMB0GA1UdDgQWBBQtdSeyC8N6
HRjk2BhM7t+UGIpv5jAfBgNVHSMEGDAWgBQtdSeyC8N6HRjk2BhM7t+UGIpv5jAP
BgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0kAMEYCIQCe3nDhdRQZI05ukMpl
swyQW9HvPpKT78EiLIhIPzyLzQIhAOvnB93JtiTu2QyifQz1n3N3cFoAeXnGALSl
oXuE7KOe
-----END CERTIFICATE-----
`
	pinVector = "sha256/6rkqTt8cdoSQB1FsK7qk84qu3E27zHg0pt1QmcYDIpQ="
)

func TestPinMatchesOpenSSL(t *testing.T) {
	b, _ := pem.Decode([]byte(pinVectorPEM))
	cert, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if got := testpki.Pin(cert); got != pinVector {
		t.Fatalf("Pin = %s, want %s", got, pinVector)
	}
	r, err := testpki.RandomPin()
	if err != nil {
		t.Fatal(err)
	}
	if len(r) != len(pinVector) || r == pinVector {
		t.Fatalf("RandomPin = %q", r)
	}
}

func TestChainsVerify(t *testing.T) {
	root, err := testpki.NewCA("root")
	if err != nil {
		t.Fatal(err)
	}
	inter, err := root.Intermediate("inter")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := inter.Server("api.example.test", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if len(leaf.Chain) != 2 || leaf.Chain[1] != inter.Cert || len(leaf.TLS.Certificate) != 2 {
		t.Fatalf("chain = %d certs, tls = %d", len(leaf.Chain), len(leaf.TLS.Certificate))
	}
	inters := x509.NewCertPool()
	inters.AddCert(inter.Cert)
	for _, name := range []string{"api.example.test", "127.0.0.1"} {
		chains, err := leaf.Cert.Verify(x509.VerifyOptions{DNSName: name, Roots: testpki.Pool(root), Intermediates: inters})
		if err != nil {
			t.Fatalf("verify %s: %v", name, err)
		}
		if got := chains[0][len(chains[0])-1]; got != root.Cert && !got.Equal(root.Cert) {
			t.Fatalf("chain does not end at the root")
		}
	}
	// A different root does not verify it.
	other, err := testpki.NewCA("other")
	if err != nil {
		t.Fatal(err)
	}
	_, err = leaf.Cert.Verify(x509.VerifyOptions{DNSName: "api.example.test", Roots: testpki.Pool(other), Intermediates: inters})
	var ua x509.UnknownAuthorityError
	if !errors.As(err, &ua) {
		t.Fatalf("verify with another root: %v", err)
	}
}

func TestExpiredAndClientLeaves(t *testing.T) {
	ca, err := testpki.NewCA("root")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	exp, err := ca.Issue(testpki.LeafOptions{Names: []string{"old.example.test"}, NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = exp.Cert.Verify(x509.VerifyOptions{DNSName: "old.example.test", Roots: testpki.Pool(ca)})
	var ci x509.CertificateInvalidError
	if !errors.As(err, &ci) || ci.Reason != x509.Expired {
		t.Fatalf("expired leaf verify: %v", err)
	}

	cl, err := ca.Client("svc-a")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cl.Cert.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}) {
		t.Fatalf("client EKU = %v", cl.Cert.ExtKeyUsage)
	}
	if _, err := cl.Cert.Verify(x509.VerifyOptions{Roots: testpki.Pool(ca), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatal(err)
	}
	if _, err := ca.Issue(testpki.LeafOptions{}); err == nil {
		t.Fatal("server leaf without names accepted")
	}
	if cl.Cert.SerialNumber.Cmp(exp.Cert.SerialNumber) == 0 {
		t.Fatal("serials repeat")
	}
}

func TestWriteFiles(t *testing.T) {
	ca, err := testpki.NewCA("root")
	if err != nil {
		t.Fatal(err)
	}
	inter, err := ca.Intermediate("inter")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := inter.Client("svc")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cf, kf := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	if err := leaf.WriteFiles(cf, kf); err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(cf, kf)
	if err != nil {
		t.Fatal(err)
	}
	if len(pair.Certificate) != 2 || !pair.Leaf.Equal(leaf.Cert) {
		t.Fatalf("loaded %d certs", len(pair.Certificate))
	}
}

// Example shows a CA, a server leaf for a name and an IP, and the pins a
// client would configure for it.
func Example() {
	ca, err := testpki.NewCA("example root")
	if err != nil {
		fmt.Println(err)
		return
	}
	leaf, err := ca.Server("localhost", "127.0.0.1")
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = leaf.Cert.Verify(x509.VerifyOptions{DNSName: "localhost", Roots: testpki.Pool(ca)})
	fmt.Println("verifies:", err == nil)
	fmt.Println("pin form:", testpki.Pin(leaf.Cert)[:7], len(testpki.Pin(ca.Cert)))
	// Output:
	// verifies: true
	// pin form: sha256/ 51
}
