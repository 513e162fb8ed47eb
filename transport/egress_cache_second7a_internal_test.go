package transport

import (
	"strings"
	"testing"
	"unsafe"
)

// within reports whether s's bytes lie inside big's.
func within(s, big string) bool {
	if len(s) == 0 {
		return false
	}
	p, b := uintptr(unsafe.Pointer(unsafe.StringData(s))), uintptr(unsafe.Pointer(unsafe.StringData(big)))
	return p >= b && p < b+uintptr(len(big))
}

// Nothing the cache keeps is a slice of the URL it was filled from: not
// the key, and not the Origin host worked out from it either (originHost
// returns a lower-case ASCII name as a slice of its input), or each cached
// name would keep a whole URL (its path and query too) alive for the
// policy's lifetime.
func TestSecond7aEgressHostCacheKeepsNoURLMemory(t *testing.T) {
	p, err := NewEgressPolicy(EgressConfig{Allow: []string{"api.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range []string{
		"https://api.example.com/" + strings.Repeat("x", 1<<16),
		"https://api.example.com./?token=" + strings.Repeat("s", 1<<16),
	} {
		u := mustParse(t, raw)
		_ = p.CheckURL(u)
		for k, h := range *p.hosts.m.Load() {
			if within(k, u.Host) || within(h.origin, u.Host) {
				t.Errorf("cached %q (origin %q) shares the URL's memory", k, h.origin)
			}
		}
	}
}
