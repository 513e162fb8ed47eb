package openapi

import (
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// caseApartBudget bounds the templates caseApart visits (casesCollide):
// past it, it does not tell, and findRoute keeps routing a path again.
const caseApartBudget = 1 << 20

// caseApart reports whether no request path can match an operation of doc
// (enumServers's, routed by newServerRouter) as written and another of the
// same method in lower case (by the router of foldDoc(doc)): then
// findRoute's second routing of a path with upper case (errCaseOther)
// finds the operation it matched or none, and is not done. It reports
// false whenever it cannot tell.
//
// Each operation's template is its server's base path and its path, as
// the router joins them, in segments: a variable ("{name}", "{name}.json")
// matches any one segment and a literal its text only. A path matches a
// template, as written or in lower case, only if its segments other than
// empty ones (which merging slashes and a trailing slash, tried by
// findNormalized, add or remove) are as many as the template's and each
// matches, so two templates of as many segments collide when each pair of
// segments does: two literals equal ignoring case, or a variable against
// anything ("/files/{name}" and "/files/secret" for "/files/SECRET").
// What the comparison does not model (a variable's regular expression, a
// literal with an escape or a character the router escapes, a server URL
// that is a variable or a variable's value that holds a "/") is taken to
// collide or to be unknown, never to be apart.
func caseApart(doc *openapi3.T) bool {
	if doc.Paths == nil {
		return true
	}
	groups := map[string][]caseTemplate{} // by method and number of segments
	bases := map[*openapi3.Server][]string{}
	for _, path := range doc.Paths.InMatchingOrder() {
		item := doc.Paths.Value(path)
		ps, ok := caseSegments(path, nil)
		if !ok {
			return false
		}
		servers := doc.Servers
		if len(item.Servers) > 0 {
			servers = item.Servers
		}
		if len(servers) == 0 {
			servers = openapi3.Servers{nil}
		} else if slices.Contains(servers, nil) {
			return false // newServerRouter gives such a route every server
		}
		ops := item.Operations()
		for _, s := range servers {
			bs, seen := bases[s]
			if !seen {
				if bs, ok = serverCaseSegments(s); !ok {
					return false
				}
				bases[s] = bs
			}
			segs := append(append([]string(nil), bs...), ps...)
			for m, op := range ops {
				key := m + " " + strconv.Itoa(len(segs))
				groups[key] = append(groups[key], caseTemplate{op: op, segs: segs})
			}
		}
	}
	budget := caseApartBudget
	for _, g := range groups {
		if casesCollide(g, 0, &budget) {
			return false
		}
	}
	return true
}

// caseTemplate is an operation's template in segments (caseSegments's).
type caseTemplate struct {
	op   *openapi3.Operation
	segs []string // in lower case; "" matches any segment
}

// casesCollide reports whether two templates of ts, of as many segments
// and alike before segment k, of other operations match one path: ts is
// split by its segment k, each literal's share with the templates whose
// segment k is a variable, so that two templates end up in one share
// (and are compared to the end) only if each of their segments collides.
// budget counts down the templates visited: past it, it reports true.
func casesCollide(ts []caseTemplate, k int, budget *int) bool {
	if *budget -= len(ts); *budget < 0 {
		return true
	}
	if !slices.ContainsFunc(ts, func(t caseTemplate) bool { return t.op != ts[0].op }) {
		return false // one operation (or none)
	}
	if k == len(ts[0].segs) {
		return true
	}
	var wild []caseTemplate
	literal := map[string][]caseTemplate{}
	for _, t := range ts {
		if seg := t.segs[k]; seg == "" {
			wild = append(wild, t)
		} else {
			literal[seg] = append(literal[seg], t)
		}
	}
	if len(literal) == 0 {
		return casesCollide(wild, k+1, budget)
	}
	for _, share := range literal {
		if casesCollide(slices.Concat(share, wild), k+1, budget) {
			return true
		}
	}
	return false
}

// caseSegments appends to segs the segments of the template p other than
// empty ones: "" for one with a variable or a byte the router does not
// match as written (literalByte), else the segment in lower case. ok is
// false for a template whose variables are not the router's plain ones
// ("{name}", matching one segment's text): one with a regular expression
// ("{id:[0-9]+}", "{rest:.*}", which may match several segments), nested
// or unbalanced braces.
func caseSegments(p string, segs []string) (_ []string, ok bool) {
	start, depth, wild := 0, 0, false
	for i := 0; i <= len(p); i++ {
		if i == len(p) || p[i] == '/' && depth == 0 {
			if i > start {
				if wild {
					segs = append(segs, "")
				} else {
					segs = append(segs, strings.ToLower(p[start:i]))
				}
			}
			start, wild = i+1, false
			continue
		}
		switch c := p[i]; {
		case c == '{':
			if depth > 0 {
				return nil, false
			}
			depth, wild = 1, true
		case c == '}':
			if depth == 0 {
				return nil, false
			}
			depth = 0
		case depth > 0:
			if c == ':' || c == '/' {
				return nil, false
			}
		case !literalByte(c):
			wild = true
		}
	}
	if depth > 0 {
		return nil, false
	}
	return segs, true
}

// literalByte reports whether c, in a literal segment of a template, is
// matched as written by the router and in lower case by foldDoc's: an
// ASCII letter, digit, or a character a path carries unescaped. A
// literal with another ("%", a space, a non-ASCII byte) is taken for a
// variable.
func literalByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("-._~!$&'()*+,;=:@", c) >= 0
}

// serverCaseSegments returns the segments of the base path of s (of
// enumServers's document; nil for none) as caseSegments gives them, and
// ok false when it cannot tell them: a URL that does not start with a
// scheme or a "/" ("{baseUrl}", which the router reads as its default
// value, "//host/v1"), a variable whose name has a ":" or a "/" or whose
// default or enum value has a "/", "?", "#" or a brace (a port variable's
// default is put in the URL by the router).
func serverCaseSegments(s *openapi3.Server) (_ []string, ok bool) {
	if s == nil {
		return nil, true
	}
	u := s.URL
	for name, v := range s.Variables {
		if !strings.Contains(u, "{"+name+"}") || v == nil {
			continue
		}
		for _, val := range append([]string{v.Default}, v.Enum...) {
			if strings.ContainsAny(val, "/?#{}") {
				return nil, false
			}
		}
	}
	// Braces: balanced, not nested, and a name without a "/", "?", "#"
	// or ":", so that the authority and the path are found as below.
	depth := 0
	for i := 0; i < len(u); i++ {
		switch c := u[i]; {
		case c == '{':
			if depth > 0 {
				return nil, false
			}
			depth = 1
		case c == '}':
			if depth == 0 {
				return nil, false
			}
			depth = 0
		case depth > 0 && strings.IndexByte("/?#:", c) >= 0:
			return nil, false
		}
	}
	if depth > 0 {
		return nil, false
	}
	path := u
	if i := schemeEnd(u); i >= 0 {
		rest := u[i+3:]
		j := strings.IndexAny(rest, "/?#")
		if j < 0 || rest[j] != '/' {
			return nil, true
		}
		path = rest[j:]
	} else if !strings.HasPrefix(u, "/") || strings.HasPrefix(u, "//") {
		return nil, false
	}
	if j := strings.IndexAny(path, "?#"); j >= 0 {
		path = path[:j]
	}
	return caseSegments(path, nil)
}
