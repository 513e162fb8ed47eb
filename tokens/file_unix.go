//go:build unix

package tokens

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// checkModes: Unix mode bits describe who may read a file.
const checkModes = true

// checkOwner refuses a file or directory owned by a user other than the
// process's effective user or root.
func checkOwner(fi fs.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if uid := os.Geteuid(); int(st.Uid) != uid && st.Uid != 0 {
		return fmt.Errorf("owned by uid %d, not by uid %d or root", st.Uid, uid)
	}
	return nil
}

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
