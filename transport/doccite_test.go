package transport_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDocsCiteOnlyTestsThatExist checks the tests the documentation cites
// as evidence (security.md's threat table, "Proven by ..." lines): every
// `path/file_test.go:TestName` names a file of the repository (its path
// from the root) that declares that function, every `path/file_test.go`
// names a file that exists, and every test named on its own
// (`TestName`, `TestName/subtest`, `ExampleName`) is declared by a test
// file of some module of the repository. A test renamed, moved or deleted would
// otherwise leave a claim the docs say is proven with no proof behind it.
func TestDocsCiteOnlyTestsThatExist(t *testing.T) {
	root := ".."
	// Every test function of every module, by file (from the root) and by
	// name.
	byFile := map[string]map[string]bool{}
	anywhere := map[string]bool{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" || d.Name() == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		funcs := map[string]bool{}
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil {
				funcs[fd.Name.Name] = true
				anywhere[fd.Name.Name] = true
			}
		}
		byFile[filepath.ToSlash(rel)] = funcs
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !byFile["transport/doccite_test.go"]["TestDocsCiteOnlyTestsThatExist"] {
		t.Fatal("the walk did not find this test: wrong root?")
	}

	// `transport/pin_test.go:TestPinMismatchWithAttackerCA`, or the file alone.
	cite := regexp.MustCompile("`((?:[A-Za-z0-9_.-]+/)+[A-Za-z0-9_.-]+_test\\.go)(?::([A-Za-z0-9_]+))?`")
	n := docMatches(t, root, cite, func(at string, m []string) {
		funcs, ok := byFile[m[1]]
		switch {
		case !ok:
			t.Errorf("%s: cites %s, which is no test file of the repository", at, m[1])
		case m[2] != "" && !funcs[m[2]]:
			t.Errorf("%s: cites %s:%s, which %s does not declare", at, m[1], m[2], m[1])
		}
	})
	if n < 50 {
		t.Fatalf("found %d test citations in the docs: the pattern went wrong", n)
	}
	// `TestOutage/budget`, `FuzzTemplate`, `ExampleBodyTimeoutError`: a test
	// named on its own.
	bare := regexp.MustCompile("`((?:Test|Fuzz|Benchmark|Example)[A-Z][A-Za-z0-9_]*)(?:/[^`]*)?`")
	n = docMatches(t, root, bare, func(at string, m []string) {
		if !anywhere[m[1]] {
			t.Errorf("%s: names the test %s, which no test file of the repository declares", at, m[1])
		}
	})
	if n < 10 {
		t.Fatalf("found %d tests named in the docs: the pattern went wrong", n)
	}
}
