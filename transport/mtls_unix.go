//go:build unix

package transport

import (
	"os"
	"syscall"
)

// openCertificateFile opens name for reading with O_NONBLOCK, so that a
// FIFO or device at the path does not block open(2) waiting for a writer
// (readCertificateFile then refuses it by its mode). O_NONBLOCK does not
// change reads of a regular file.
func openCertificateFile(name string) (*os.File, error) {
	return os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}
