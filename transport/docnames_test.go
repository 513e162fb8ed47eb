package transport_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// docFiles returns the documentation a newcomer reads: README.md,
// docs/*.md and the packages' doc.go files (docs/performance.md, a log of
// measurements, is left out).
func docFiles(t *testing.T, root string) []string {
	t.Helper()
	files := []string{filepath.Join(root, "README.md")}
	mds, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range mds {
		if filepath.Base(f) != "performance.md" {
			files = append(files, f)
		}
	}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if !d.IsDir() && d.Name() == "doc.go" {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestDocsNameOnlyTelemetryTheCodeEmits checks that every securecall.*
// metric, span attribute and event name the documentation spells in
// backquotes is a string the library's code (every module of the
// repository, not its tests, examples or benchmarks) spells too: a renamed
// constant, or a typo in the docs, would send an operator's dashboard or
// alert after a name nothing emits.
func TestDocsNameOnlyTelemetryTheCodeEmits(t *testing.T) {
	root := ".."
	code := map[string]bool{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "testdata", "examples", "bench", "tests":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil {
					code[s] = true
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !code["securecall.client.attempts"] {
		t.Fatal("the walk found no telemetry name in the code: wrong root?")
	}
	// `securecall.x.y`, or `securecall.x=value` (an attribute with a value).
	name := regexp.MustCompile("`(securecall\\.[a-z0-9_.]*[a-z0-9_])[`=]")
	checked := docMatches(t, root, name, func(at string, m []string) {
		if !code[m[1]] {
			t.Errorf("%s: %q is named in the docs but no code emits it", at, m[1])
		}
	})
	if checked == 0 {
		t.Fatal("no telemetry name found in the docs")
	}
}

// TestDocsNameOnlyIdentifiersThatExist checks that every pkg.Name the
// documentation spells (transport.NewRetry, signer.ErrReplay,
// fleet.NonceOptions...) is a top-level identifier that package declares:
// a renamed or removed option, constructor, type or sentinel would
// otherwise stay in the docs a newcomer copies from.
func TestDocsNameOnlyIdentifiersThatExist(t *testing.T) {
	root := ".."
	dirs := map[string]string{
		"client": "client", "transport": "transport", "signer": "signer",
		"tokens": "tokens", "keyring": "tokens/keyring", "fleet": "fleet",
		"openapi": "openapi", "transporttest": "transport/transporttest",
	}
	declared := map[string]map[string]bool{}
	fset := token.NewFileSet()
	for pkg, dir := range dirs {
		names := map[string]bool{}
		for _, f := range parseNonTest(t, fset, filepath.Join(root, dir)) {
			for _, d := range f.Decls {
				switch d := d.(type) {
				case *ast.FuncDecl:
					if d.Recv == nil {
						names[d.Name.Name] = true
					}
				case *ast.GenDecl:
					for _, s := range d.Specs {
						switch s := s.(type) {
						case *ast.TypeSpec:
							names[s.Name.Name] = true
						case *ast.ValueSpec:
							for _, n := range s.Names {
								names[n.Name] = true
							}
						}
					}
				}
			}
		}
		if len(names) == 0 {
			t.Fatalf("no declaration found in %s", dir)
		}
		declared[pkg] = names
	}
	ref := regexp.MustCompile(`\b(client|transport|signer|tokens|keyring|fleet|openapi|transporttest)\.([A-Z][A-Za-z0-9_]*)`)
	checked := docMatches(t, root, ref, func(at string, m []string) {
		if !declared[m[1]][m[2]] {
			t.Errorf("%s: %s.%s is named in the docs but package %s declares no %s", at, m[1], m[2], m[1], m[2])
		}
	})
	if checked == 0 {
		t.Fatal("no identifier found in the docs")
	}
}

// docMatches calls check with "file:line" and the submatches of every
// match of re in the docs (docFiles), and returns how many there were.
func docMatches(t *testing.T, root string, re *regexp.Regexp, check func(at string, m []string)) int {
	t.Helper()
	n := 0
	for _, file := range docFiles(t, root) {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			for _, m := range re.FindAllStringSubmatch(line, -1) {
				n++
				check(fmt.Sprintf("%s:%d", file, i+1), m)
			}
		}
	}
	return n
}

// TestDocsNameEveryOption checks that every functional option of the
// packages below client (transport's ClientCertificateOptions and context
// helpers, tokens' Cache, FileStore and CachedStore options, keyring's)
// is named in backquotes somewhere in the documentation (docFiles), as
// TestConfigurationDocNamesEveryOption requires of client's options in
// docs/configuration.md: an option no page names is one a newcomer reading
// the docs never learns exists.
func TestDocsNameEveryOption(t *testing.T) {
	root := ".."
	var doc strings.Builder
	for _, file := range docFiles(t, root) {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		doc.Write(b)
	}
	text := doc.String()
	fset := token.NewFileSet()
	total := 0
	for _, dir := range []string{"transport", "tokens", "tokens/keyring", "signer"} {
		for _, f := range parseNonTest(t, fset, filepath.Join(root, dir)) {
			for _, d := range f.Decls {
				fd, ok := d.(*ast.FuncDecl)
				if !ok || fd.Recv != nil || !fd.Name.IsExported() || !strings.HasPrefix(fd.Name.Name, "With") {
					continue
				}
				total++
				pkg := filepath.Base(dir)
				re := regexp.MustCompile("`(?:" + pkg + "\\.)?" + fd.Name.Name + "\\b")
				if !re.MatchString(text) {
					t.Errorf("no documentation page names %s.%s (%s)", pkg, fd.Name.Name, fset.Position(fd.Pos()))
				}
			}
		}
	}
	if total < 20 {
		t.Fatalf("found %d options: the parse went wrong", total)
	}
}

// TestDocsNameOnlyMembersThatExist checks the fields and methods the
// documentation names on a type of the module (transport.RetryConfig.Cooldowns,
// BaseConfig.MaxResponseHeaderBytes, ClientCertificate.Update,
// RateLimitError.Reason...): the type must have that field (its own or
// one it embeds) or method, as TestDocsNameOnlyIdentifiersThatExist
// requires of top-level names. A field or method renamed or removed would
// otherwise stay in the pages and doc.go files a newcomer configures from.
// An unqualified type name that other libraries use as well (Config,
// Options, Client, Token...: tls.Config.VerifyConnection, http.Client.Timeout)
// is left out.
func TestDocsNameOnlyMembersThatExist(t *testing.T) {
	root := ".."
	dirs := map[string]string{
		"client": "client", "transport": "transport", "signer": "signer",
		"tokens": "tokens", "keyring": "tokens/keyring", "fleet": "fleet",
		"openapi": "openapi", "transporttest": "transport/transporttest",
	}
	type members struct {
		names  map[string]bool
		embeds []string
	}
	byPkg := map[string]map[string]*members{} // package, type
	byType := map[string][]*members{}         // type, in any package
	fset := token.NewFileSet()
	for pkg, dir := range dirs {
		types := map[string]*members{}
		get := func(name string) *members {
			if types[name] == nil {
				types[name] = &members{names: map[string]bool{}}
			}
			return types[name]
		}
		for _, f := range parseNonTest(t, fset, filepath.Join(root, dir)) {
			for _, d := range f.Decls {
				switch d := d.(type) {
				case *ast.FuncDecl:
					if d.Recv == nil || len(d.Recv.List) == 0 {
						continue
					}
					rt := d.Recv.List[0].Type
					if s, ok := rt.(*ast.StarExpr); ok {
						rt = s.X
					}
					if ix, ok := rt.(*ast.IndexExpr); ok {
						rt = ix.X
					}
					if id, ok := rt.(*ast.Ident); ok {
						get(id.Name).names[d.Name.Name] = true
					}
				case *ast.GenDecl:
					for _, s := range d.Specs {
						ts, ok := s.(*ast.TypeSpec)
						if !ok || !ts.Name.IsExported() {
							continue
						}
						m := get(ts.Name.Name)
						var fields []*ast.Field
						switch tt := ts.Type.(type) {
						case *ast.StructType:
							fields = tt.Fields.List
						case *ast.InterfaceType:
							fields = tt.Methods.List
						}
						for _, fl := range fields {
							for _, n := range fl.Names {
								m.names[n.Name] = true
							}
							if len(fl.Names) == 0 {
								e := fl.Type
								if s, ok := e.(*ast.StarExpr); ok {
									e = s.X
								}
								switch e := e.(type) {
								case *ast.Ident:
									m.embeds = append(m.embeds, e.Name)
								case *ast.SelectorExpr:
									m.embeds = append(m.embeds, e.Sel.Name)
								}
							}
						}
					}
				}
			}
		}
		byPkg[pkg] = types
	}
	for _, types := range byPkg {
		for name, m := range types {
			byType[name] = append(byType[name], m)
		}
	}
	var has func(ms []*members, member string, depth int) bool
	has = func(ms []*members, member string, depth int) bool {
		for _, m := range ms {
			if m.names[member] {
				return true
			}
			if depth < 3 {
				for _, e := range m.embeds {
					if has(byType[e], member, depth+1) {
						return true
					}
				}
			}
		}
		return false
	}
	common := map[string]bool{
		"Config": true, "Options": true, "Client": true, "Token": true, "Transport": true,
		"Request": true, "Response": true, "Header": true, "Server": true, "Policy": true,
		"Store": true, "Source": true, "Error": true,
	}
	ref := regexp.MustCompile(`\b(?:(client|transport|signer|tokens|keyring|fleet|openapi|transporttest)\.)?([A-Z][A-Za-z0-9]*)\.([A-Z][A-Za-z0-9_]*)\b`)
	checked := 0
	docMatches(t, root, ref, func(at string, m []string) {
		pkg, typ, member := m[1], m[2], m[3]
		var ms []*members
		if pkg != "" {
			if mm := byPkg[pkg][typ]; mm != nil {
				ms = []*members{mm}
			}
		} else if !common[typ] {
			ms = byType[typ]
		}
		if len(ms) == 0 {
			return // not a type of the module: a package path, another library's type
		}
		checked++
		if !has(ms, member, 0) {
			t.Errorf("%s: %s.%s is named in the docs but %s has no field or method %s", at, typ, member, typ, member)
		}
	})
	t.Logf("%d Type.Member references checked", checked)
	if checked < 50 {
		t.Fatalf("checked %d Type.Member references in the docs: the pattern went wrong", checked)
	}
}

// parseNonTest parses the Go files of dir other than its tests.
func parseNonTest(t *testing.T, fset *token.FileSet, dir string) []*ast.File {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, path := range paths {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	return files
}
