package bench

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestScriptRunsSkippedAllocationBudgets: an allocation test that skips its
// budget under -race (a package's test files declare raceEnabled) is
// checked only by the run without -race that scripts/test.sh ends with, as
// README.md says ("then the allocation budgets without -race"); every
// package of the root module that has one is in that run. signer's
// TestAddDigestAllocs (session 18) was not: no script checked its budget.
func TestScriptRunsSkippedAllocationBudgets(t *testing.T) {
	script, err := os.ReadFile("../scripts/test.sh")
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`(?m)^go test [^\n]*-run '?Allocs'? ([^\n|]*)`).FindSubmatch(script)
	if line == nil {
		t.Fatal("scripts/test.sh has no `go test -run Allocs` line")
	}
	listed := map[string]bool{}
	for _, p := range strings.Fields(string(line[1])) {
		listed[strings.TrimSuffix(strings.TrimPrefix(p, "./"), "/")] = true
	}
	want := map[string]bool{}
	err = filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != ".." && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil && path != ".." {
				return filepath.SkipDir // a nested module: its own go test run
			}
			return nil
		}
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if regexp.MustCompile(`\bconst raceEnabled\b`).Match(b) {
			dir, _ := filepath.Rel("..", filepath.Dir(path))
			want[filepath.ToSlash(dir)] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(want) == 0 {
		t.Fatal("found no package declaring raceEnabled (bench does)")
	}
	for dir := range want {
		if !listed[dir] {
			t.Errorf("%s skips allocation budgets under -race, but scripts/test.sh's run without -race (%s) leaves it out", dir, strings.TrimSpace(string(line[1])))
		}
	}
}
