//go:build unix

package tokens

import (
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
