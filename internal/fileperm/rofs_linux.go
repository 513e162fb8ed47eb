package fileperm

import "golang.org/x/sys/unix"

// OnReadOnlyMount reports whether dir is on a read-only mount (including a
// read-only bind mount of a writable file system), where no one can
// create, rename or remove its entries.
func OnReadOnlyMount(dir string) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return false
	}
	return st.Flags&unix.ST_RDONLY != 0
}
