package testpki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"time"
)

// Default validity of generated certificates, relative to the time of
// generation.
const (
	// DefaultBackdate is how far in the past NotBefore is put, so that a
	// slightly skewed clock still accepts a fresh certificate.
	DefaultBackdate = time.Hour
	// DefaultLeafValidity is the lifetime of a leaf when LeafOptions.NotAfter
	// is zero.
	DefaultLeafValidity = 24 * time.Hour
	// DefaultCAValidity is the lifetime of a CA or intermediate.
	DefaultCAValidity = 7 * 24 * time.Hour
)

// CA is a certificate authority: a self-signed root made by NewCA or an
// intermediate made by (*CA).Intermediate. Its fields must not be modified.
type CA struct {
	// Cert is the CA certificate.
	Cert *x509.Certificate
	// Key is the CA's private key.
	Key crypto.Signer
	// CertPEM is Cert in PEM form (one CERTIFICATE block).
	CertPEM []byte

	// chain holds the intermediates from this CA up to, not including, the
	// root: empty for a root, [self, parent intermediates...] otherwise.
	chain []*x509.Certificate
}

// Leaf is an end-entity certificate and its key.
type Leaf struct {
	// Cert is the leaf certificate.
	Cert *x509.Certificate
	// Key is the leaf's private key.
	Key crypto.Signer
	// Chain is the leaf followed by the intermediates of its issuer (never
	// the root), in the order a TLS peer presents them.
	Chain []*x509.Certificate
	// CertPEM is Chain in PEM form, leaf first.
	CertPEM []byte
	// KeyPEM is Key as a PKCS #8 "PRIVATE KEY" PEM block.
	KeyPEM []byte
	// TLS is the chain and key ready for tls.Config.Certificates (Leaf set).
	TLS tls.Certificate
}

// LeafOptions describes a leaf certificate for (*CA).Issue.
type LeafOptions struct {
	// Names are the subject alternative names: each entry that parses as an
	// IP address becomes an IP SAN, every other entry a DNS SAN. The first
	// entry is also the subject CommonName. A server leaf needs at least one.
	Names []string
	// NotBefore is the start of validity; zero means now - DefaultBackdate.
	NotBefore time.Time
	// NotAfter is the end of validity; zero means NotBefore +
	// DefaultBackdate + DefaultLeafValidity. Put it in the past for an
	// expired certificate.
	NotAfter time.Time
	// Client makes a client-authentication certificate (ExtKeyUsageClientAuth)
	// instead of a server one (ExtKeyUsageServerAuth).
	Client bool
}

// NewCA returns a new self-signed root CA whose subject CommonName is name.
func NewCA(name string) (*CA, error) {
	return newCA(name, nil)
}

// Intermediate returns a new intermediate CA named name, issued by ca.
// Leaves it issues carry it (and ca's own intermediates) in their Chain.
func (ca *CA) Intermediate(name string) (*CA, error) {
	return newCA(name, ca)
}

func newCA(name string, parent *CA) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("testpki: generate ca key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name, Organization: []string{"securecall testpki"}},
		NotBefore:             now.Add(-DefaultBackdate),
		NotAfter:              now.Add(DefaultCAValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	issuer, signer := tmpl, crypto.Signer(key)
	if parent != nil {
		issuer, signer = parent.Cert, parent.Key
	}
	cert, der, err := create(tmpl, issuer, key.Public(), signer)
	if err != nil {
		return nil, err
	}
	ca := &CA{Cert: cert, Key: key, CertPEM: pemCert(der)}
	if parent != nil {
		ca.chain = append([]*x509.Certificate{cert}, parent.chain...)
	}
	return ca, nil
}

// Server returns a server-authentication leaf for names (DNS names or IP
// literals), valid from an hour ago for DefaultLeafValidity.
func (ca *CA) Server(names ...string) (*Leaf, error) {
	return ca.Issue(LeafOptions{Names: names})
}

// Client returns a client-authentication leaf whose CommonName (and DNS
// SAN) is name.
func (ca *CA) Client(name string) (*Leaf, error) {
	return ca.Issue(LeafOptions{Names: []string{name}, Client: true})
}

// Issue returns a leaf certificate described by opts, signed by ca. Every
// call makes a new key and a random serial number.
func (ca *CA) Issue(opts LeafOptions) (*Leaf, error) {
	if len(opts.Names) == 0 && !opts.Client {
		return nil, errors.New("testpki: a server leaf needs at least one name")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("testpki: generate leaf key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	notBefore := opts.NotBefore
	if notBefore.IsZero() {
		notBefore = time.Now().Add(-DefaultBackdate)
	}
	notAfter := opts.NotAfter
	if notAfter.IsZero() {
		notAfter = notBefore.Add(DefaultBackdate + DefaultLeafValidity)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if opts.Client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	for i, n := range opts.Names {
		if i == 0 {
			tmpl.Subject.CommonName = n
		}
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	cert, der, err := create(tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("testpki: marshal leaf key: %w", err)
	}
	l := &Leaf{
		Cert:   cert,
		Key:    key,
		Chain:  append([]*x509.Certificate{cert}, ca.chain...),
		KeyPEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}
	l.CertPEM = pemCert(der)
	l.TLS = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}
	for _, c := range ca.chain {
		l.CertPEM = append(l.CertPEM, pemCert(c.Raw)...)
		l.TLS.Certificate = append(l.TLS.Certificate, c.Raw)
	}
	return l, nil
}

// WriteFiles writes l.CertPEM to certFile and l.KeyPEM to keyFile (mode
// 0600), replacing existing files in place (not atomically: tests use it to
// simulate a rotation that writes the two files one after the other).
func (l *Leaf) WriteFiles(certFile, keyFile string) error {
	if err := os.WriteFile(certFile, l.CertPEM, 0o600); err != nil {
		return fmt.Errorf("testpki: write certificate: %w", err)
	}
	if err := os.WriteFile(keyFile, l.KeyPEM, 0o600); err != nil {
		return fmt.Errorf("testpki: write key: %w", err)
	}
	return nil
}

// Pool returns a certificate pool holding the certificates of cas, for
// tls.Config.RootCAs (server verification) or ClientCAs (mTLS).
func Pool(cas ...*CA) *x509.CertPool {
	p := x509.NewCertPool()
	for _, ca := range cas {
		p.AddCert(ca.Cert)
	}
	return p
}

// Pin returns the SPKI pin of cert in OkHttp form:
// "sha256/" + base64(SHA-256(SubjectPublicKeyInfo)).
func Pin(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return "sha256/" + base64.StdEncoding.EncodeToString(sum[:])
}

// RandomPin returns a well-formed pin that matches no real key, for a
// backup pin in tests.
func RandomPin() (string, error) {
	var b [sha256.Size]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("testpki: random pin: %w", err)
	}
	return "sha256/" + base64.StdEncoding.EncodeToString(b[:]), nil
}

func create(tmpl, issuer *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer) (*x509.Certificate, []byte, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, pub, signer)
	if err != nil {
		return nil, nil, fmt.Errorf("testpki: create certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("testpki: parse certificate: %w", err)
	}
	return cert, der, nil
}

func newSerial() (*big.Int, error) {
	s, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("testpki: serial: %w", err)
	}
	return s.Add(s, big.NewInt(1)), nil // never zero
}

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
