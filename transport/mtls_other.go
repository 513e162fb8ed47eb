//go:build !unix

package transport

import "os"

// openCertificateFile opens name for reading.
func openCertificateFile(name string) (*os.File, error) { return os.Open(name) }
