package fileperm

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Masks of the permission bits a file may not have.
const (
	// Secret: only the owner may read or write (0600, 0400).
	Secret fs.FileMode = 0o077
	// GroupReadable: the owner's group may also read (0640, 0440), as
	// Kubernetes makes a secret volume's files with fsGroup and
	// defaultMode 0440.
	GroupReadable fs.FileMode = 0o037
	// Public: anyone may read, only the owner may write (0644), for a
	// file whose content is no secret but decides an identity (a
	// certificate).
	Public fs.FileMode = 0o022
)

// MaxLinkHops bounds the symlinks WalkLinks follows (Linux's limit).
const MaxLinkHops = 40

// File refuses fi when its permission bits intersect mask, or (Owner) when
// it belongs to another user. Call it on the opened file's FileInfo, not
// the path's, so a swap between the check and the read cannot slip an
// insecure file past it.
func File(fi fs.FileInfo, mask fs.FileMode) error {
	if perm := fi.Mode().Perm(); Checked && perm&mask != 0 {
		return fmt.Errorf("file mode %#o allows access by group or others", perm)
	}
	return Owner(fi)
}

// Dir refuses a directory that group or others may write to (they could
// add, replace or remove its entries), unless it is on a read-only mount,
// and one that belongs to another user, with a *DirError.
func Dir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	// On a read-only mount nobody can add, replace or remove an entry,
	// whatever the mode says: a Kubernetes secret volume is a 1777 tmpfs
	// directory mounted read-only into the container.
	if perm := fi.Mode().Perm(); Checked && perm&0o022 != 0 && !OnReadOnlyMount(dir) {
		return &DirError{Dir: dir, Reason: fmt.Sprintf("mode %#o is writable by group or others", perm)}
	}
	if err := Owner(fi); err != nil {
		return &DirError{Dir: dir, Reason: err.Error()}
	}
	return nil
}

// DirError is Dir's refusal of a directory.
type DirError struct {
	Dir    string
	Reason string
}

func (e *DirError) Error() string { return "directory " + e.Dir + ": " + e.Reason }

// WalkLinks resolves the path components rest from the directory cur as
// open(2) does, calling check on every directory holding a symlink it
// follows. It returns the directory holding the last entry, and found
// false when an entry on the way is missing (or cannot be read), which
// ends the walk without error.
func WalkLinks(cur string, rest []string, check func(dir string) error) (dir string, found bool, err error) {
	hops := 0
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			cur = filepath.Dir(cur)
			continue
		}
		p := filepath.Join(cur, c)
		fi, err := os.Lstat(p)
		if err != nil {
			return "", false, nil
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			if len(rest) == 0 {
				return cur, true, nil
			}
			cur = p
			continue
		}
		if err := check(cur); err != nil {
			return "", false, err
		}
		if hops++; hops > MaxLinkHops {
			return "", false, fmt.Errorf("more than %d symlinks", MaxLinkHops)
		}
		target, err := os.Readlink(p)
		if err != nil {
			return "", false, nil
		}
		if filepath.IsAbs(target) {
			cur = filepath.VolumeName(cur) + string(filepath.Separator)
		}
		rest = append(strings.Split(filepath.ToSlash(target), "/"), rest...)
	}
	return cur, true, nil
}

// PathDirs resolves name (made absolute) as open(2) will, from the root,
// and applies Dir to every directory holding a symlink it follows and to
// the directory holding the file at the end: whoever can write one of
// them chooses what opening name reads. A refused directory is a
// *DirError. A missing entry ends the walk without error (opening the
// path then reports it). Where modes are not checked it does nothing.
func PathDirs(name string) error {
	if !Checked {
		return nil
	}
	abs, err := filepath.Abs(name)
	if err != nil {
		return err
	}
	root := filepath.VolumeName(abs) + string(filepath.Separator)
	rest := strings.Split(filepath.ToSlash(strings.TrimPrefix(abs, root)), "/")
	dir, found, err := WalkLinks(root, rest, Dir)
	if err != nil || !found {
		return err
	}
	return Dir(dir)
}
