package archtest

import (
	"fmt"
	"go/build"
	"path/filepath"
	"sort"
	"strings"
)

// Rule forbids packages under From (import-path prefixes) from reaching
// packages under To, directly or transitively through module packages.
type Rule struct {
	From []string
	To   []string
}

// Violation is one forbidden path through the import graph.
type Violation struct {
	Path []string // importing package first, forbidden package last
}

func (v Violation) String() string { return strings.Join(v.Path, " -> ") }

// Check walks the non-test imports of every package of module (rooted at
// dir) that matches a rule's From, and returns each path that reaches a
// package matching the rule's To.
func Check(dir, module string, rules []Rule) ([]Violation, error) {
	g := &graph{dir: dir, module: module, imports: map[string][]string{}}
	pkgs, err := g.list()
	if err != nil {
		return nil, err
	}
	var out []Violation
	for _, r := range rules {
		for _, p := range pkgs {
			if !hasPrefix(p, module, r.From) {
				continue
			}
			if path, ok := g.reach(p, module, r.To, map[string]bool{}); ok {
				out = append(out, Violation{Path: path})
			}
		}
	}
	return out, nil
}

func hasPrefix(pkg, module string, prefixes []string) bool {
	for _, pre := range prefixes {
		full := module + "/" + pre
		if pkg == full || strings.HasPrefix(pkg, full+"/") {
			return true
		}
	}
	return false
}

type graph struct {
	dir, module string
	imports     map[string][]string
}

// list returns every package directory of the module that holds Go files.
func (g *graph) list() ([]string, error) {
	var pkgs []string
	err := walkDirs(g.dir, func(d string) {
		rel, _ := filepath.Rel(g.dir, d)
		p := g.module
		if rel != "." {
			p = g.module + "/" + filepath.ToSlash(rel)
		}
		if _, err := g.load(p); err == nil {
			pkgs = append(pkgs, p)
		}
	})
	sort.Strings(pkgs)
	return pkgs, err
}

// load returns the module-internal non-test imports of pkg.
func (g *graph) load(pkg string) ([]string, error) {
	if imps, ok := g.imports[pkg]; ok {
		return imps, nil
	}
	rel := strings.TrimPrefix(strings.TrimPrefix(pkg, g.module), "/")
	bp, err := build.Default.ImportDir(filepath.Join(g.dir, filepath.FromSlash(rel)), 0)
	if err != nil {
		if _, ok := err.(*build.NoGoError); ok {
			return nil, err
		}
		return nil, fmt.Errorf("archtest: %s: %w", pkg, err)
	}
	var imps []string
	for _, imp := range bp.Imports {
		if imp == g.module || strings.HasPrefix(imp, g.module+"/") {
			imps = append(imps, imp)
		}
	}
	g.imports[pkg] = imps
	return imps, nil
}

// reach finds a path from pkg to a package under one of the to prefixes.
func (g *graph) reach(pkg, module string, to []string, seen map[string]bool) ([]string, bool) {
	if seen[pkg] {
		return nil, false
	}
	seen[pkg] = true
	imps, err := g.load(pkg)
	if err != nil {
		return nil, false
	}
	for _, imp := range imps {
		if hasPrefix(imp, module, to) {
			return []string{pkg, imp}, true
		}
		if rest, ok := g.reach(imp, module, to, seen); ok {
			return append([]string{pkg}, rest...), true
		}
	}
	return nil, false
}
