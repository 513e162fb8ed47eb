//go:build unix

package fileperm_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securecall/securecall/internal/childtest"
	"github.com/securecall/securecall/internal/fileperm"
)

// mkfile writes a file of the given mode (chmod after create, so the
// umask does not decide it) and returns its path and FileInfo.
func mkfile(t *testing.T, dir, name string, mode fs.FileMode) (string, fs.FileInfo) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return p, fi
}

// mkdir makes a directory of the given mode (sticky bit included).
func mkdir(t *testing.T, parent, name string, mode fs.FileMode) string {
	t.Helper()
	p := filepath.Join(parent, name)
	if err := os.Mkdir(p, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFileMasks(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		mode fs.FileMode
		mask fs.FileMode
		ok   bool
	}{
		{0o600, fileperm.Secret, true},
		{0o400, fileperm.Secret, true},
		{0o640, fileperm.Secret, false},
		{0o604, fileperm.Secret, false},
		{0o620, fileperm.Secret, false},
		{0o644, fileperm.Secret, false},
		{0o640, fileperm.GroupReadable, true},
		{0o440, fileperm.GroupReadable, true},
		{0o660, fileperm.GroupReadable, false},
		{0o644, fileperm.GroupReadable, false},
		{0o644, fileperm.Public, true},
		{0o444, fileperm.Public, true},
		{0o664, fileperm.Public, false},
		{0o666, fileperm.Public, false},
	}
	for i, c := range cases {
		_, fi := mkfile(t, dir, "f"+string(rune('a'+i)), c.mode)
		err := fileperm.File(fi, c.mask)
		if (err == nil) != c.ok {
			t.Errorf("File(mode %#o, mask %#o) = %v, want ok=%v", c.mode, c.mask, err, c.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "mode") {
			t.Errorf("File(mode %#o): %q does not say it is the mode", c.mode, err)
		}
	}
}

func TestOwnerOfAnotherUserRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a file to another user")
	}
	dir := t.TempDir()
	p, _ := mkfile(t, dir, "k", 0o600)
	if err := os.Chown(p, 4242, 4242); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := fileperm.File(fi, fileperm.Secret); err == nil || !strings.Contains(err.Error(), "uid 4242") {
		t.Errorf("File of uid 4242 = %v, want refused naming the uid", err)
	}
	d := mkdir(t, dir, "d", 0o700)
	if err := os.Chown(d, 4242, 4242); err != nil {
		t.Fatal(err)
	}
	var de *fileperm.DirError
	if err := fileperm.Dir(d); !errors.As(err, &de) || de.Dir != d {
		t.Errorf("Dir of uid 4242 = %v, want a *DirError for %s", err, d)
	}
	// root's own files pass whoever the effective user is.
	if err := os.Chown(p, 0, 0); err != nil {
		t.Fatal(err)
	}
	fi, _ = os.Stat(p)
	if err := fileperm.File(fi, fileperm.Secret); err != nil {
		t.Errorf("File of root = %v", err)
	}
}

func TestDirModes(t *testing.T) {
	base := t.TempDir()
	cases := []struct {
		mode fs.FileMode
		ok   bool
	}{
		{0o700, true},
		{0o755, true},
		{0o750, true},
		{0o775, false},
		{0o757, false},
		{0o777, false},
		{0o777 | fs.ModeSticky, false}, // /tmp's 1777: others cannot replace an entry they do not own, but can add one
	}
	for i, c := range cases {
		d := mkdir(t, base, "d"+string(rune('a'+i)), c.mode)
		err := fileperm.Dir(d)
		if (err == nil) != c.ok {
			t.Errorf("Dir(mode %v) = %v, want ok=%v", c.mode, err, c.ok)
		}
		var de *fileperm.DirError
		if err != nil && (!errors.As(err, &de) || de.Dir != d || !strings.Contains(de.Error(), d)) {
			t.Errorf("Dir(mode %v) = %v, want a *DirError naming %s", c.mode, err, d)
		}
	}
	f, _ := mkfile(t, base, "file", 0o600)
	if err := fileperm.Dir(f); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("Dir(a file) = %v", err)
	}
	if err := fileperm.Dir(filepath.Join(base, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Dir(missing) = %v, want fs.ErrNotExist", err)
	}
}

// A Kubernetes secret volume: a 1777 tmpfs refused where others can
// write to it, accepted once bind-mounted read-only, and so is the path
// through its ..data symlink.
func TestDirReadOnlyMount(t *testing.T) {
	childtest.InMountNamespace(t, func(t *testing.T) {
		src, readOnly := childtest.SecretVolume(t, []string{"tls.key"}, func(ts string) {
			if err := os.WriteFile(filepath.Join(ts, "tls.key"), []byte("k"), 0o600); err != nil {
				t.Fatal(err)
			}
		})
		if err := fileperm.Dir(src); err == nil {
			t.Error("Dir(writable 1777 tmpfs) = nil")
		}
		if err := fileperm.PathDirs(filepath.Join(src, "tls.key")); err == nil {
			t.Error("PathDirs through a writable 1777 tmpfs = nil")
		}
		ro := readOnly()
		if !fileperm.OnReadOnlyMount(ro) {
			t.Fatalf("OnReadOnlyMount(%s) = false", ro)
		}
		if err := fileperm.Dir(ro); err != nil {
			t.Errorf("Dir(read-only 1777 mount) = %v", err)
		}
		if err := fileperm.PathDirs(filepath.Join(ro, "tls.key")); err != nil {
			t.Errorf("PathDirs through the read-only volume = %v", err)
		}
	})
}

// A symlink in a directory others may write to lets them choose what the
// path reaches: PathDirs names that directory, wherever the link points.
func TestPathDirsLinkInWritableDir(t *testing.T) {
	base := t.TempDir()
	safe := mkdir(t, base, "safe", 0o700)
	open := mkdir(t, base, "open", 0o777)
	key, _ := mkfile(t, safe, "key", 0o600)

	if err := fileperm.PathDirs(key); err != nil {
		t.Fatalf("PathDirs(direct) = %v", err)
	}

	link := filepath.Join(open, "key")
	if err := os.Symlink(key, link); err != nil {
		t.Fatal(err)
	}
	var de *fileperm.DirError
	if err := fileperm.PathDirs(link); !errors.As(err, &de) || de.Dir != open {
		t.Errorf("PathDirs(link in %s) = %v, want a *DirError for it", open, err)
	}

	// A link in a safe directory to a file in a writable one: the file's
	// own directory is refused.
	inOpen, _ := mkfile(t, open, "real", 0o600)
	back := filepath.Join(safe, "back")
	if err := os.Symlink(inOpen, back); err != nil {
		t.Fatal(err)
	}
	if err := fileperm.PathDirs(back); !errors.As(err, &de) || de.Dir != open {
		t.Errorf("PathDirs(link to a file in %s) = %v, want a *DirError for it", open, err)
	}

	// A relative link through "..": resolved from the link's directory.
	sub := mkdir(t, safe, "sub", 0o700)
	rel := filepath.Join(sub, "rel")
	if err := os.Symlink("../key", rel); err != nil {
		t.Fatal(err)
	}
	if err := fileperm.PathDirs(rel); err != nil {
		t.Errorf("PathDirs(../key from %s) = %v", sub, err)
	}

	// A missing entry ends the walk without error: opening reports it.
	if err := fileperm.PathDirs(filepath.Join(safe, "missing", "key")); err != nil {
		t.Errorf("PathDirs(missing) = %v", err)
	}
}

func TestWalkLinksVisitsEveryLinkDirAndStopsLoops(t *testing.T) {
	base := t.TempDir()
	a := mkdir(t, base, "a", 0o700)
	b := mkdir(t, base, "b", 0o700)
	mkfile(t, b, "f", 0o600)
	// a/l1 -> ../b/l2 (relative), b/l2 -> <abs b>/f
	if err := os.Symlink("../b/l2", filepath.Join(a, "l1")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(b, "f"), filepath.Join(b, "l2")); err != nil {
		t.Fatal(err)
	}
	var seen []string
	record := func(dir string) error { seen = append(seen, dir); return nil }
	rest := strings.Split(strings.TrimPrefix(filepath.Join(a, "l1"), "/"), "/")
	dir, found, err := fileperm.WalkLinks("/", rest, record)
	if err != nil || !found || dir != b {
		t.Fatalf("WalkLinks = %q, %v, %v; want %q, true, nil", dir, found, err, b)
	}
	if len(seen) != 2 || seen[0] != a || seen[1] != b {
		t.Errorf("checked %q, want [%s %s]", seen, a, b)
	}

	// A refusal from check ends the walk with its error.
	refuse := errors.New("refused")
	if _, _, err := fileperm.WalkLinks("/", rest, func(string) error { return refuse }); !errors.Is(err, refuse) {
		t.Errorf("WalkLinks with a refusing check = %v", err)
	}

	// A loop is cut after MaxLinkHops links, not followed forever.
	if err := os.Symlink("y", filepath.Join(a, "x")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("x", filepath.Join(a, "y")); err != nil {
		t.Fatal(err)
	}
	n := 0
	loop := strings.Split(strings.TrimPrefix(filepath.Join(a, "x"), "/"), "/")
	_, _, err = fileperm.WalkLinks("/", loop, func(string) error { n++; return nil })
	if err == nil || !strings.Contains(err.Error(), "symlinks") {
		t.Errorf("WalkLinks(loop) = %v, want the hop limit", err)
	}
	if n != fileperm.MaxLinkHops+1 {
		t.Errorf("checked %d links of a loop, want %d", n, fileperm.MaxLinkHops+1)
	}
}
