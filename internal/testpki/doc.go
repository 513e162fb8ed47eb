// Package testpki makes throw-away X.509 PKIs for tests and offline
// examples: a root CA, intermediates, server and client leaf certificates
// for DNS names and IP addresses, expired leaves, and the SPKI pin of any
// certificate.
//
// Everything is generated in memory with ECDSA P-256 keys (fast to make)
// and returned with its PEM encoding, ready for tls.Certificate,
// x509.CertPool or files on disk. The package does not import "testing":
// the quickstart example, a normal program, uses it too. Every constructor
// returns an error instead of panicking.
//
// A typical test:
//
//	ca, err := testpki.NewCA("test root")
//	leaf, err := ca.Server("api.example.test", "127.0.0.1")
//	srv := httptest.NewUnstartedServer(handler)
//	srv.TLS = &tls.Config{Certificates: []tls.Certificate{leaf.TLS}}
//	srv.StartTLS()
//	roots := testpki.Pool(ca)                  // trust it on the client side
//	pins := []string{testpki.Pin(leaf.Cert), testpki.Pin(ca.Cert)}
//
// An "attacker" is simply a second CA that issues a certificate for the
// same name: trusted by the client's pool, valid chain, different keys.
package testpki
