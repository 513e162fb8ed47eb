package tokens

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/securecall/securecall/internal/fileperm"
)

// DefaultMaxFileSize is the largest secret a FileStore reads or writes
// when WithMaxFileSize is not given: 1 MiB.
const DefaultMaxFileSize = 1 << 20

// FileOption configures NewFileStore.
type FileOption interface{ applyFile(*FileStore) }

type fileOptionFunc func(*FileStore)

func (f fileOptionFunc) applyFile(s *FileStore) { f(s) }

// WithGroupReadable accepts secret files that the owner's group may read
// (mode 0640 or 0440), as Kubernetes produces for a secret volume with
// fsGroup. Files writable by the group, or readable by others, are still
// refused. Default: only the owner may read or write (0600 or 0400).
func WithGroupReadable() FileOption {
	return fileOptionFunc(func(s *FileStore) { s.groupRead = true })
}

// WithTrimNewline strips one trailing "\n" (or "\r\n") from every value
// read, for files written with echo. Default: values are returned byte for
// byte.
func WithTrimNewline() FileOption {
	return fileOptionFunc(func(s *FileStore) { s.trimNewline = true })
}

// WithMaxFileSize sets the largest value read or written, in bytes.
// Default DefaultMaxFileSize.
func WithMaxFileSize(n int) FileOption {
	return fileOptionFunc(func(s *FileStore) { s.maxSize = n })
}

// FileStore is a Store that keeps each secret in its own file, named by its
// key, in one directory: the layout of Kubernetes secret volumes and of
// systemd credentials ($CREDENTIALS_DIRECTORY).
// On a case-insensitive file system (macOS, Windows) keys that differ
// only in case name one file: use one spelling per secret.
//
// It refuses to read a secret (ErrInsecureFile) when the file is not a
// regular file (a FIFO or device there is refused before it is opened, and
// one swapped in after that check is opened without blocking and refused),
// when it is readable or
// writable by group or others (mode & 0o077; see WithGroupReadable), when
// the directory is writable by group or others (and, for a key path that
// is a symlink, any directory holding the file it leads to or a symlink
// followed on the way; and any directory holding a symlink followed on
// the store directory's own path, such as a link planted under /tmp by
// another user to send Set's writes into a directory of ours; on Linux,
// unless it is on
// a read-only mount, where no one can add or replace a file: a Kubernetes
// secret volume's directory is mode 1777, mounted read-only), or, on Unix, when the file
// or directory belongs to a user other than the process's effective user or
// root. (On Windows, where mode bits do not describe the ACLs, only the
// regular-file check applies.) Set writes atomically (temporary file, fsync, rename) with mode
// 0600, creating the directory with mode 0700 if needed. On a read-only
// file system Set and Delete fail with ErrReadOnly. Set refuses an
// insecure directory too, and Delete one reached through such a symlink.
type FileStore struct {
	dir         string
	groupRead   bool
	trimNewline bool
	maxSize     int
}

// NewFileStore returns a FileStore over dir. The directory need not exist
// until the first Set.
func NewFileStore(dir string, opts ...FileOption) (*FileStore, error) {
	if dir == "" {
		return nil, configErr("dir", "empty directory")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, &ConfigError{Option: "dir", Err: err}
	}
	s := &FileStore{dir: abs, maxSize: DefaultMaxFileSize}
	for _, o := range opts {
		if o != nil {
			o.applyFile(s)
		}
	}
	if s.maxSize <= 0 {
		return nil, configErr("WithMaxFileSize", "must be positive, got %d", s.maxSize)
	}
	return s, nil
}

// Dir returns the store's directory.
func (s *FileStore) Dir() string { return s.dir }

func (s *FileStore) fail(op, key string, sentinel, cause error) error {
	if sentinel == nil && isReadOnlyFS(cause) {
		sentinel = ErrReadOnly // a read-only mount: secret volume, $CREDENTIALS_DIRECTORY
	}
	return &StoreError{Backend: "file", Op: op, Key: key, Err: sentinel, Cause: cause}
}

// Get reads the secret file for key after checking its permissions.
func (s *FileStore) Get(ctx context.Context, key string) ([]byte, error) {
	if s.dir == "" {
		return nil, zeroErr(s)
	}
	if err := ValidateKey(key); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, s.fail("get", key, nil, err)
	}
	if err := s.checkDir(); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, s.fail("get", key, ErrNotFound, nil)
		}
		return nil, s.fail("get", key, ErrInsecureFile, err)
	}
	// A key path that is a symlink (a Kubernetes secret volume's key ->
	// ..data/key) reads a file elsewhere: the directories it goes
	// through must be as safe as the store's own.
	if err := s.checkLinkDirs(key); err != nil {
		return nil, s.fail("get", key, ErrInsecureFile, err)
	}
	// Refuse a FIFO or device before opening it: opening one can act
	// (/dev/watchdog arms a hardware watchdog, some tape and serial
	// devices reset, a FIFO's blocked writer wakes). os.Stat follows
	// symlinks as open(2) will.
	path := filepath.Join(s.dir, key)
	pfi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, s.fail("get", key, ErrNotFound, nil)
		}
		return nil, s.fail("get", key, nil, err)
	}
	if !pfi.Mode().IsRegular() {
		return nil, s.fail("get", key, ErrInsecureFile, fmt.Errorf("not a regular file (%v)", pfi.Mode().Type()))
	}
	// One swapped in after the Stat is opened without blocking
	// (open(2) of a FIFO waits for a writer, ignoring ctx) and refused by
	// the mode check on the opened file below.
	f, err := openSecret(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, s.fail("get", key, ErrNotFound, nil)
		}
		return nil, s.fail("get", key, nil, err)
	}
	defer f.Close()
	// Check the opened file, not the path, so a swap between the check and
	// the read cannot slip an insecure file past us.
	fi, err := f.Stat()
	if err != nil {
		return nil, s.fail("get", key, nil, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, s.fail("get", key, ErrInsecureFile, fmt.Errorf("not a regular file (%v)", fi.Mode().Type()))
	}
	if err := s.checkFile(fi); err != nil {
		return nil, s.fail("get", key, ErrInsecureFile, err)
	}
	if fi.Size() > int64(s.maxSize) {
		return nil, s.fail("get", key, ErrTooLarge, fmt.Errorf("%d bytes, limit %d", fi.Size(), s.maxSize))
	}
	// Read one byte past the limit to see a file that grew since the
	// Stat; at math.MaxInt the +1 would overflow into a negative limit,
	// which reads nothing.
	limit := int64(s.maxSize)
	if limit < math.MaxInt64 {
		limit++
	}
	b, err := io.ReadAll(io.LimitReader(f, limit))
	if err != nil {
		clear(b)
		return nil, s.fail("get", key, nil, err)
	}
	if len(b) > s.maxSize {
		clear(b)
		return nil, s.fail("get", key, ErrTooLarge, fmt.Errorf("limit %d bytes", s.maxSize))
	}
	if s.trimNewline && bytes.HasSuffix(b, []byte("\n")) {
		b = bytes.TrimSuffix(b[:len(b)-1], []byte("\r"))
	}
	return b, nil
}

// Set writes value to the file for key, atomically, with mode 0600, and
// durably: the file and then its directory are synced (and, when Set
// created the directory, the parent of each directory it created), so once
// Set returns a crash cannot bring back the previous value (a rotated-away
// refresh token) or lose the new one. It also removes the key's temporary files (".<key>.tmp-<n>")
// that a crashed Set left more than an hour ago (by mtime); a younger one
// may be another process's Set of the key in progress and is left alone.
func (s *FileStore) Set(ctx context.Context, key string, value []byte) error {
	if s.dir == "" {
		return zeroErr(s)
	}
	if err := ValidateKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return s.fail("set", key, nil, err)
	}
	if len(value) > s.maxSize {
		return s.fail("set", key, ErrTooLarge, fmt.Errorf("%d bytes, limit %d", len(value), s.maxSize))
	}
	// Refuse a planted link on the way before MkdirAll creates anything
	// behind it.
	if err := s.checkDirLinks(); err != nil {
		return s.fail("set", key, ErrInsecureFile, err)
	}
	// The directories MkdirAll creates, deepest first: their entries in
	// their parents must reach the disk too.
	var created []string
	for d := s.dir; ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); !errors.Is(err, fs.ErrNotExist) || filepath.Dir(d) == d {
			break
		}
		created = append(created, d)
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return s.fail("set", key, nil, err)
	}
	if err := s.checkDir(); err != nil {
		return s.fail("set", key, ErrInsecureFile, err)
	}
	// Best effort: failing to clear an old crash's leftover is no reason
	// to fail this write.
	_, _ = s.removeTemps(key, staleTempAge)
	tmp, err := os.CreateTemp(s.dir, "."+key+".tmp-*") // mode 0600
	if err != nil {
		return s.fail("set", key, nil, err)
	}
	name := tmp.Name()
	_, werr := tmp.Write(value)
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(name, filepath.Join(s.dir, key))
	}
	if werr != nil {
		os.Remove(name)
		return s.fail("set", key, nil, werr)
	}
	// The new file is in place; the directory entry must reach the disk
	// too, or a crash could bring back the previous value. A file system
	// that cannot sync a directory at all is not a failed write: the new
	// value is in place, and failing every Set there would fail every
	// refresh token rotation.
	// So must the entry of each directory this Set created, or a crash
	// could lose the directory with the file.
	for _, d := range append([]string{s.dir}, parents(created)...) {
		if err := syncDir(d); err != nil && !dirSyncUnsupported(err) {
			return s.fail("set", key, nil, err)
		}
	}
	return nil
}

// parents returns the parent directory of each of dirs.
func parents(dirs []string) []string {
	p := make([]string, len(dirs))
	for i, d := range dirs {
		p[i] = filepath.Dir(d)
	}
	return p
}

// Delete removes the file for key, and any temporary file a Set of key
// that crashed left behind, and then syncs the directory, as Set does, so
// that once Delete returns a crash cannot bring the secret back.
func (s *FileStore) Delete(ctx context.Context, key string) error {
	if s.dir == "" {
		return zeroErr(s)
	}
	if err := ValidateKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return s.fail("delete", key, nil, err)
	}
	if err := s.checkDirLinks(); err != nil {
		return s.fail("delete", key, ErrInsecureFile, err)
	}
	temps, err := s.removeTemps(key, 0)
	if err != nil {
		return s.fail("delete", key, nil, err)
	}
	err = os.Remove(filepath.Join(s.dir, key))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return s.fail("delete", key, nil, err)
	}
	// As for Set: until the directory is synced, a crash can bring back
	// what was removed (a revoked refresh token, a copy of one).
	if err == nil || temps > 0 {
		if serr := syncDir(s.dir); serr != nil && !dirSyncUnsupported(serr) {
			return s.fail("delete", key, nil, serr)
		}
	}
	if err != nil {
		return s.fail("delete", key, ErrNotFound, nil)
	}
	return nil
}

// staleTempAge is how old (by mtime) a temporary file of a key must be
// before Set of that key removes it as abandoned by a crash. A Set in
// progress, in this process or another, holds its file for the time of a
// write and an fsync: seconds at most, far below this.
const staleTempAge = time.Hour

// removeTemps removes the temporary files Set left for key when the
// process died between creating one and renaming it (".<key>.tmp-<n>",
// n the decimal os.CreateTemp puts for "*"): they hold a copy of a value,
// which Delete must not leave behind. Get never reads them (a key cannot
// start with '.'). With olderThan 0 (Delete) it removes them all: a Set of
// key running meanwhile may lose its file and fail, as if the Delete came
// after it. With olderThan > 0 (Set) it removes only regular files whose
// mtime is more than olderThan ago, so a concurrent Set is never
// disturbed. It returns how many it removed.
func (s *FileStore) removeTemps(key string, olderThan time.Duration) (removed int, err error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return 0, nil
		}
		return 0, err
	}
	prefix := "." + key + ".tmp-"
	for _, e := range ents {
		n, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok || n == "" || strings.Trim(n, "0123456789") != "" {
			continue
		}
		if olderThan > 0 {
			if !e.Type().IsRegular() {
				continue
			}
			fi, err := e.Info()
			if err != nil || time.Since(fi.ModTime()) <= olderThan {
				continue // gone meanwhile, or possibly a Set in progress
			}
		}
		switch err := os.Remove(filepath.Join(s.dir, e.Name())); {
		case err == nil:
			removed++
		case !errors.Is(err, fs.ErrNotExist):
			return removed, err
		}
	}
	return removed, nil
}

// checkDir refuses a directory that others may write to (they could swap
// a secret file), or one reached through a symlink in such a directory
// (checkDirLinks).
func (s *FileStore) checkDir() error {
	if err := s.checkDirLinks(); err != nil {
		return err
	}
	return fileperm.Dir(s.dir)
}

// checkDirLinks resolves the store directory's path as open(2) will,
// component by component, and applies fileperm.Dir to every directory
// holding a symlink it follows: a store path under /tmp that another user
// planted as a link to a directory of ours (~/.aws) would let that user
// choose which directory Get reads, Set overwrites and Delete removes
// from. A missing entry ends the walk without error. (On Windows, where
// checkDirAt checks no permissions, it does nothing.)
func (s *FileStore) checkDirLinks() error {
	if !fileperm.Checked {
		return nil
	}
	vol := filepath.VolumeName(s.dir)
	root := vol + string(filepath.Separator)
	rest := strings.Split(filepath.ToSlash(strings.TrimPrefix(s.dir, root)), "/")
	_, _, err := fileperm.WalkLinks(root, rest, fileperm.Dir)
	return err
}

// checkLinkDirs resolves the key's path as open(2) will, component by
// component, and applies fileperm.Dir to every directory holding a symlink
// it follows and to the directory holding the file at the end, when that
// is not the store's own (checked already). Whoever can write one of those
// chooses what Get reads. A missing entry ends the walk without error:
// opening the path then reports it. (On Windows, where fileperm.Dir checks
// no permissions, it does nothing.)
func (s *FileStore) checkLinkDirs(key string) error {
	if !fileperm.Checked {
		return nil
	}
	fi, err := os.Lstat(filepath.Join(s.dir, key))
	if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		return nil // the common case: a plain file (or none) in the store's directory
	}
	home, err := filepath.EvalSymlinks(s.dir)
	if err != nil {
		return nil
	}
	dir, found, err := fileperm.WalkLinks(home, []string{key}, func(d string) error {
		if d == home {
			return nil
		}
		return fileperm.Dir(d)
	})
	if err != nil || !found || dir == home {
		return err
	}
	return fileperm.Dir(dir)
}

func (s *FileStore) checkFile(fi fs.FileInfo) error {
	mask := fileperm.Secret
	if s.groupRead {
		mask = fileperm.GroupReadable
	}
	return fileperm.File(fi, mask)
}
