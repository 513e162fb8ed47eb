//go:build unix

package fileperm

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// Checked: Unix mode bits and owners describe who may read a file.
const Checked = true

// Owner refuses a file or directory owned by a user other than the
// process's effective user or root.
func Owner(fi fs.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if uid := os.Geteuid(); int(st.Uid) != uid && st.Uid != 0 {
		return fmt.Errorf("owned by uid %d, not by uid %d or root", st.Uid, uid)
	}
	return nil
}
