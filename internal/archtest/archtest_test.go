package archtest

import (
	"os"
	"path/filepath"
	"testing"
)

const module = "github.com/securecall/securecall"

// leafRules is the package graph of DESIGN.md: signer and tokens are leaves.
var leafRules = []Rule{{From: []string{"signer", "tokens"}, To: []string{"transport", "client", "examples"}}}

func TestLeafPackagesDoNotImportTransportOrClient(t *testing.T) {
	v, err := Check(filepath.Join("..", ".."), module, leafRules)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range v {
		t.Errorf("forbidden import edge: %s", x)
	}
}

// TestCheckCatchesForbiddenEdges proves the checker fails on a direct and on
// a transitive forbidden edge in a synthetic module.
func TestCheckCatchesForbiddenEdges(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, src string) {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.test/m\n\ngo 1.26\n")
	write("transport/t.go", "package transport\n")
	write("internal/helper/h.go", "package helper\nimport _ \"example.test/m/transport\"\n")
	write("signer/s.go", "package signer\nimport _ \"example.test/m/transport\"\n")
	write("tokens/keyring/k.go", "package keyring\nimport _ \"example.test/m/internal/helper\"\n")
	write("tokens/ok/o.go", "package ok\nimport _ \"fmt\"\n")
	write("tokens/ok/o_test.go", "package ok\nimport _ \"example.test/m/transport\"\n") // tests may

	v, err := Check(dir, "example.test/m", []Rule{{From: []string{"signer", "tokens"}, To: []string{"transport", "client"}}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, x := range v {
		got[x.String()] = true
	}
	want := []string{
		"example.test/m/signer -> example.test/m/transport",
		"example.test/m/tokens/keyring -> example.test/m/internal/helper -> example.test/m/transport",
	}
	for _, w := range want {
		if !got[w] {
			t.Errorf("missing violation %q; got %v", w, v)
		}
	}
	if len(v) != len(want) {
		t.Errorf("got %d violations, want %d: %v", len(v), len(want), v)
	}
}
