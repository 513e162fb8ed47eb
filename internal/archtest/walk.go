package archtest

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// walkDirs calls fn for every directory under root that belongs to the same
// module: it skips testdata, hidden and underscore directories, and nested
// modules (directories with their own go.mod).
func walkDirs(root string, fn func(dir string)) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		name := d.Name()
		if path != root {
			if name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
				return filepath.SkipDir
			}
		}
		fn(path)
		return nil
	})
}
