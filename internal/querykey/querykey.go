// Package querykey tells which query parameter names a common server reads
// as a given credential parameter (any case, PHP's "." and " " for "_",
// Rack's brackets, array suffixes), for the transport's API-key layer and
// egress guard and for the client's option validation, which must agree.
package querykey

import (
	"net/url"
	"slices"
	"strings"
)

// ReadsAs reports whether a common server reads the raw
// parameter name k as one of keys (given in Form): as queryName
// reads it, in the forms of queryNameForms, both as written and as Rack
// reads it (rackName).
func ReadsAs(k string, keys []string) bool {
	name := queryName(k)
	if isQueryKey(name, keys) {
		return true
	}
	r := rackName(name)
	return r != name && isQueryKey(r, keys)
}

// isQueryKey reports whether a parameter name (from queryName) is read as
// one of keys in one of the forms of queryNameForms.
func isQueryKey(name string, keys []string) bool {
	full, base := queryNameForms(name)
	return slices.Contains(keys, full) || base != "" && slices.Contains(keys, base)
}

// phpNameMangler turns the characters PHP reads as "_" in a parameter name
// into "_".
var phpNameMangler = strings.NewReplacer(".", "_", " ", "_")

// Form returns the form a configured credential query key k is compared
// in by ReadsAs: the full form of queryNameForms.
func Form(k string) string {
	full, _ := queryNameForms(queryName(k))
	return full
}

// queryName returns a raw query parameter name as servers decode it,
// lower-cased (ASP.NET compares names without case): percent-decoded ("+"
// a space; as written when it does not decode), cut at a NUL, without
// leading spaces (PHP).
func queryName(raw string) string {
	k := raw
	if u, err := url.QueryUnescape(raw); err == nil {
		k = u
	}
	if i := strings.IndexByte(k, 0); i >= 0 {
		k = k[:i]
	}
	return strings.ToLower(strings.TrimLeft(k, " "))
}

// rackName returns the parameter name k (from queryName) as Rack 2 (Rails
// up to 7.0, Sinatra) reads it, matching \A[\[\]]*([^\[\]]+)\]*: without
// leading "[" and "]", and without the "]"s that follow the name, so
// "[api_key]", "api_key]" and "]api_key[]" are api_key and api_key[], and
// "[auth][token]" is auth[token]. k itself when Rack reads it as written.
func rackName(k string) string {
	t := strings.TrimLeft(k, "[]")
	j := strings.IndexAny(t, "[]")
	if j < 0 {
		return t
	}
	rest := strings.TrimLeft(t[j:], "]")
	if len(rest) == len(t)-j {
		return t
	}
	return t[:j] + rest
}

// queryNameForms returns the names servers read a parameter name k (from
// queryName) as: full, k with "." and " " before the first "[" turned into
// "_" and an unclosed "[" into "_" (PHP); and base, for a name with an
// array suffix ("k[]", "k[x]": PHP, Rack, qs), the name before it, else "".
func queryNameForms(k string) (full, base string) {
	i := strings.IndexByte(k, '[')
	switch {
	case i < 0:
		return phpNameMangler.Replace(k), ""
	case strings.IndexByte(k[i:], ']') < 0:
		return phpNameMangler.Replace(k[:i]) + "_" + k[i+1:], ""
	default:
		base = phpNameMangler.Replace(k[:i])
		return base + k[i:], base
	}
}
