package openapi

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// caseApartDoc loads the description whose servers are servers (YAML, ""
// for none) and whose paths are paths (YAML, indented by two).
func caseApartDoc(t *testing.T, servers, paths string) *openapi3.T {
	t.Helper()
	s := "openapi: 3.0.3\ninfo: {title: t, version: \"1\"}\n"
	if servers != "" {
		s += "servers: " + servers + "\n"
	}
	doc, err := openapi3.NewLoader().LoadFromData([]byte(s + "paths:\n" + paths))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

const caseOK = `{responses: {"200": {description: ok}}}`

// TestCaseApart: caseApart tells a description none of whose paths can
// match an operation as written and another of its method in lower case
// (findRoute then routes no path again), and no other: a literal segment
// equal to another ignoring case, or any beside a variable, collides,
// across servers' base paths too, and what it does not model (a regular
// expression in a variable, a server URL that is a variable) is not told
// apart.
func TestCaseApart(t *testing.T) {
	for _, c := range []struct {
		name, servers, paths string
		apart                bool
	}{
		{"lengths", `[{url: "https://api.example.test/v1"}]`,
			"  /pets: {get: " + caseOK + "}\n  /pets/{id}: {get: " + caseOK + "}\n  /pets/{id}/toys: {get: " + caseOK + "}\n", true},
		{"other literals", "", "  /pets/{id}: {get: " + caseOK + "}\n  /toys/{id}: {get: " + caseOK + "}\n", true},
		{"other methods", "", "  /files/{name}: {get: " + caseOK + "}\n  /files/secret: {delete: " + caseOK + "}\n", true},
		{"one path", "", "  /files/{name}: {get: " + caseOK + "}\n", true},
		{"variable and literal", "", "  /files/{name}: {get: " + caseOK + "}\n  /files/secret: {get: " + caseOK + "}\n", false},
		{"literals in other case", "", "  /pets: {get: " + caseOK + "}\n  /Pets: {get: " + caseOK + "}\n", false},
		{"variable within a segment", "", "  /files/{name}.json: {get: " + caseOK + "}\n  /files/secret: {get: " + caseOK + "}\n", false},
		{"variables", "", "  /a/{x}/b: {get: " + caseOK + "}\n  /{y}/c/b: {get: " + caseOK + "}\n", false},
		{"variables apart", "", "  /a/{x}/b: {get: " + caseOK + "}\n  /{y}/c/d: {get: " + caseOK + "}\n", true},
		{"slashes", "", "  /a//b/: {get: " + caseOK + "}\n  /A/{x}: {get: " + caseOK + "}\n", false},
		{"escape", "", "  /a%41: {get: " + caseOK + "}\n  /ab: {get: " + caseOK + "}\n", false},
		{"servers' base paths", `[{url: "https://api.example.test/v1"}]`,
			"  /files/{name}: {get: " + caseOK + "}\n  /secret: {servers: [{url: \"https://api.example.test/V1/files\"}], get: " + caseOK + "}\n", false},
		{"server base path variable", `[{url: "https://api.example.test/{v}", variables: {v: {default: v1}}}]`,
			"  /pets/{id}: {get: " + caseOK + "}\n  /x/pets/secret: {servers: [{url: \"/\"}], get: " + caseOK + "}\n", false},
		{"relative servers", `[{url: "/v1"}, {url: "/proxy/https://up/v1"}]`,
			"  /pets: {get: " + caseOK + "}\n  /pets/{id}: {get: " + caseOK + "}\n", true},
		{"regular expression", "", "  /files/{rest:.*}: {get: " + caseOK + "}\n  /a/b/c: {get: " + caseOK + "}\n", false},
		{"server URL a variable", `[{url: "{base}", variables: {base: {default: "https://api.example.test/v1"}}}]`,
			"  /pets: {get: " + caseOK + "}\n", false},
		{"scheme-relative server", `[{url: "//api.example.test/v1"}]`, "  /pets: {get: " + caseOK + "}\n", false},
	} {
		if got := caseApart(caseApartDoc(t, c.servers, c.paths)); got != c.apart {
			t.Errorf("%s: caseApart = %v, want %v", c.name, got, c.apart)
		}
	}
}

// TestCaseApartLarge: a description of thousands of paths of one method
// and length is told apart (or not) without comparing every pair, and
// casesCollide past its budget does not tell.
func TestCaseApartLarge(t *testing.T) {
	var paths strings.Builder
	for i := range 3000 {
		fmt.Fprintf(&paths, "  /r%d/{id}: {get: %s}\n  /{tenant}/r%d/{id}/x: {get: %s}\n", i, caseOK, i, caseOK)
	}
	if !caseApart(caseApartDoc(t, "", paths.String())) {
		t.Error("3000 resources: caseApart false")
	}
	paths.WriteString("  /R2999/{id}: {get: " + caseOK + "}\n")
	if caseApart(caseApartDoc(t, "", paths.String())) {
		t.Error("3000 resources and /R2999/{id}: caseApart true")
	}
	ts := []caseTemplate{{op: &openapi3.Operation{}, segs: []string{"a"}}, {op: &openapi3.Operation{}, segs: []string{"b"}}}
	if budget := 1; !casesCollide(ts, 0, &budget) {
		t.Error("casesCollide past its budget: false")
	}
	if budget := caseApartBudget; casesCollide(ts, 0, &budget) {
		t.Error("casesCollide of /a and /b: true")
	}
}

// TestUpperCasePathAllocs: findRoute routed every path with an upper-case
// letter a second time, in lower case (errCaseOther), about eleven
// allocations a call more, though in a description such as pets.yaml no
// path can match two operations so (caseApart): a path with upper case
// now costs what one without does.
func TestUpperCasePathAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not stable under -race")
	}
	spec, err := os.ReadFile("testdata/pets.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rt, err := New(nil, Config{Spec: spec})
	if err != nil {
		t.Fatal(err)
	}
	l := rt.(*layer)
	if !l.caseApart {
		t.Fatal("pets.yaml: caseApart false")
	}
	allocs := func(p string) float64 {
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test"+p, nil)
		if _, _, err := l.findRoute(req); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		return testing.AllocsPerRun(100, func() { l.findRoute(req) })
	}
	lower, upper := allocs("/v1/pets/abc"), allocs("/v1/pets/ABC")
	if upper != lower {
		t.Errorf("findRoute: %v allocations for /v1/pets/ABC, %v for /v1/pets/abc", upper, lower)
	}
}

// BenchmarkUpperCasePathFindRoute finds the route of a GET of a path with
// upper case, in pets.yaml (no path matches two operations ignoring case)
// and in a description where one may ("/files/{name}" and
// "/files/secret").
func BenchmarkUpperCasePathFindRoute(b *testing.B) {
	pets, err := os.ReadFile("testdata/pets.yaml")
	if err != nil {
		b.Fatal(err)
	}
	files := strings.Join([]string{
		"openapi: 3.0.3",
		`info: {title: t, version: "1"}`,
		`servers: [{url: "https://api.example.test/v1"}]`,
		"paths:",
		`  /files/{name}:`,
		`    get:`,
		`      parameters: [{name: name, in: path, required: true, schema: {type: string}}]`,
		`      responses: {"200": {description: ok}}`,
		`  /files/secret: {get: {responses: {"200": {description: ok}}}}`,
	}, "\n")
	for _, c := range []struct{ name, spec, path string }{
		{"pets", string(pets), "/v1/pets/ABC"},
		{"pets-lower", string(pets), "/v1/pets/abc"},
		{"colliding", files, "/v1/files/Report"},
	} {
		rt, err := New(nil, Config{Spec: []byte(c.spec)})
		if err != nil {
			b.Fatal(err)
		}
		l := rt.(*layer)
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test"+c.path, nil)
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, _, err := l.findRoute(req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestCaseApartAgreesWithRouter: for small random descriptions (paths of
// literals in either case, variables, servers of other base paths), no
// request path (segments in either case, escaped letters, merged and
// trailing slashes, HEAD) that the second routing would find matching
// another operation ignoring case (errCaseOther) is in a description
// caseApart tells apart; such paths do occur in the others.
func TestCaseApartAgreesWithRouter(t *testing.T) {
	segs := []string{"a", "A", "b", "B", "{x}", "{x}.json", "a.json", "Ab"}
	servers := []string{"", "https://api.example.test/v1", "https://api.example.test/V1", "https://api.example.test/v1/a", "/v1", "https://api.example.test/{v}", "https://api.example.test"}
	reqSegs := []string{"a", "A", "b", "B", "ab", "Ab", "AB", "a.json", "A.JSON", "v1", "V1", "x", "%41", "%61"}
	rng := rand.New(rand.NewPCG(1, 2))
	randomPath := func() string {
		var p strings.Builder
		if rng.IntN(2) == 0 {
			p.WriteString("/v1")
		}
		for range 1 + rng.IntN(4) {
			p.WriteString("/" + reqSegs[rng.IntN(len(reqSegs))])
		}
		if rng.IntN(4) == 0 {
			p.WriteString("/")
		}
		s := p.String()
		if rng.IntN(4) == 0 {
			s = strings.Replace(s, "/", "//", 1+rng.IntN(2))
		}
		return s
	}
	serverYAML := func(u string) string {
		if strings.Contains(u, "{v}") {
			return fmt.Sprintf("[{url: %q, variables: {v: {default: v1}}}]", u)
		}
		return fmt.Sprintf("[{url: %q}]", u)
	}
	apart, others := 0, 0
	for range 500 {
		var b strings.Builder
		b.WriteString("openapi: 3.0.3\ninfo: {title: t, version: \"1\"}\n")
		if s := servers[rng.IntN(len(servers))]; s != "" {
			fmt.Fprintf(&b, "servers: %s\npaths:\n", serverYAML(s))
		} else {
			b.WriteString("paths:\n")
		}
		seen := map[string]bool{}
		for range 2 + rng.IntN(3) {
			var p strings.Builder
			vars := 0
			for range 1 + rng.IntN(3) {
				s := segs[rng.IntN(len(segs))]
				if strings.Contains(s, "{x}") {
					s = strings.Replace(s, "{x}", fmt.Sprintf("{p%d}", vars), 1)
					vars++
				}
				p.WriteString("/" + s)
			}
			if seen[p.String()] {
				continue
			}
			seen[p.String()] = true
			fmt.Fprintf(&b, "  %q:\n", p.String())
			if rng.IntN(3) == 0 {
				fmt.Fprintf(&b, "    servers: %s\n", serverYAML(servers[1+rng.IntN(len(servers)-1)]))
			}
			b.WriteString("    get:\n      parameters: [")
			for i := range vars {
				fmt.Fprintf(&b, "{name: p%d, in: path, required: true, schema: {type: string}}, ", i)
			}
			b.WriteString("]\n      responses: {\"200\": {description: ok}}\n")
		}
		rt, err := New(nil, Config{Spec: []byte(b.String())})
		if err != nil {
			t.Fatalf("%v\n%s", err, b.String())
		}
		l := rt.(*layer)
		if l.foldRouter == nil {
			continue
		}
		routedAgain := *l
		routedAgain.caseApart = false
		for range 100 {
			method := http.MethodGet
			if rng.IntN(3) == 0 {
				method = http.MethodHead
			}
			p := randomPath()
			req, _ := http.NewRequest(method, "https://api.example.test"+p, nil)
			if _, _, err := routedAgain.findRoute(req); errors.Is(err, errCaseOther) {
				if l.caseApart {
					t.Errorf("caseApart, but %s %s matches another operation ignoring case in\n%s", method, p, b.String())
				}
				others++
			}
		}
		if l.caseApart {
			apart++
		}
	}
	if apart == 0 || others == 0 {
		t.Errorf("%d descriptions told apart, %d paths matching another operation ignoring case in the others: want some of each", apart, others)
	}
}
