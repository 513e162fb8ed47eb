//go:build unix

package tokens

import (
	"errors"
	"os"
	"syscall"
)

// openSecret opens a secret file for reading with O_NONBLOCK, so that a
// FIFO or device planted at the path (or behind a symlink there) does not
// block open(2) forever waiting for a writer: Get then refuses it by its
// mode. O_NONBLOCK does not change reads of a regular file.
func openSecret(name string) (*os.File, error) {
	return os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}

// syncDir makes a rename in dir durable: until the directory itself is
// synced, a crash can bring back the file's previous version (a refresh
// token the server has already rotated away).
var syncDir = func(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// dirSyncUnsupported reports a directory sync error that means the file
// system cannot sync directories (CIFS answers EINVAL, NetBSD EBADF, some
// FUSE file systems ENOTSUP or ENOSYS), not that the sync failed.
func dirSyncUnsupported(err error) bool {
	return errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.EBADF) || errors.Is(err, errors.ErrUnsupported)
}

// isReadOnlyFS reports a write refused because the file system is mounted
// read-only.
func isReadOnlyFS(err error) bool { return errors.Is(err, syscall.EROFS) }
