package transport

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"unsafe"
)

// TestInventorySpellingFindsEntry: a call spelled as the one that added
// its entry (method, scheme, host, route or path as written) finds the
// entry by its spelling, without its key built; a call spelled otherwise
// with the same key (host case, trailing dot, default port, "" for GET,
// another identifier) goes by its key, to the same entry; a spelling over
// maxSpellingLen is not kept, and a kept one holds none of the caller's
// memory.
func TestInventorySpellingFindsEntry(t *testing.T) {
	inv, err := NewInventory(InventoryConfig{MaxEntries: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer inv.Close()
	parse := func(s string) *url.URL {
		u, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	first := parse("https://api.example.test/users/42")
	calls := []Observation{
		{Method: "GET", URL: first},
		{Method: "GET", URL: first},
		{Method: "", URL: parse("https://API.example.test./users/42")},
		{Method: "GET", URL: parse("https://api.example.test:443/users/7")},
		{Method: "GET", URL: parse("https://api.example.test/anything"), Route: "/users/{id}"},
	}
	for _, o := range calls {
		o.StatusCode = 200
		inv.Record(o)
	}
	if n := inv.Len(); n != 1 {
		t.Fatalf("Len = %d, want 1", n)
	}
	if e := inv.Snapshot().Entries[0]; e.Calls != uint64(len(calls)) || e.Route != "/users/{id}" {
		t.Fatalf("entry = %s %d calls, want /users/{id} with %d", e.Route, e.Calls, len(calls))
	}
	sp := inv.spellings.Load()
	if n := spellingCount(sp); n != 1 || len(sp.byPath["/users/42"]) != 1 {
		t.Fatalf("spellings %+v, want the first call's", sp)
	}
	s := sp.byPath["/users/42"][0]
	if s.method != "GET" || s.scheme != "https" || s.host != "api.example.test" || s.rawPath != "" || s.e.route != "/users/{id}" {
		t.Fatalf("spelling %+v, want the first call's", s)
	}
	for k := range sp.byPath {
		if unsafe.StringData(s.host) == unsafe.StringData(first.Host) || unsafe.StringData(k) == unsafe.StringData(first.Path) {
			t.Fatal("the spelling holds the caller's strings")
		}
	}

	// Found by its spelling, not its key: with the keys hidden, the call
	// still lands in the entry, and nothing is inserted.
	keys := inv.entries.Load()
	empty := map[string]*invEntry{}
	inv.entries.Store(&empty)
	inv.Record(Observation{Method: "GET", URL: first, StatusCode: 200})
	if len(empty) != 0 || inv.entries.Load() != &empty {
		t.Fatal("the call spelled as the first one built its key")
	}
	inv.entries.Store(keys)
	if e := inv.Snapshot().Entries[0]; e.Calls != uint64(len(calls))+1 {
		t.Fatalf("entry has %d calls, want %d", e.Calls, len(calls)+1)
	}

	long := parse("https://api.example.test/" + strings.Repeat("a", maxSpellingLen))
	inv.Record(Observation{Method: "GET", URL: long, StatusCode: 200})
	inv.Record(Observation{Method: "GET", URL: long, StatusCode: 200})
	if n := inv.Len(); n != 2 {
		t.Fatalf("Len = %d, want 2", n)
	}
	if n := spellingCount(inv.spellings.Load()); n != 1 {
		t.Fatalf("%d spellings, want 1: a spelling over %d bytes is not kept", n, maxSpellingLen)
	}

	// Past MaxEntries, a new call lands in the overflow entry, and no
	// spelling is kept for it.
	inv.Record(Observation{Method: "POST", URL: first, StatusCode: 200})
	inv.Record(Observation{Method: "PUT", URL: first, StatusCode: 200})
	inv.Record(Observation{Method: "PUT", URL: first, StatusCode: 200})
	if n := spellingCount(inv.spellings.Load()); n != 2 {
		t.Fatalf("%d spellings, want 2", n)
	}
	snap := inv.Snapshot()
	if last := snap.Entries[len(snap.Entries)-1]; !last.Overflow || last.Calls != 2 {
		t.Fatalf("overflow entry = %+v, want 2 calls", last)
	}
}

// TestInventorySpellingsOfOnePathBounded: the spellings of one route or
// path are at most maxSpellingsByKey ("/" of many hosts); the calls past it
// are found by their key.
func TestInventorySpellingsOfOnePathBounded(t *testing.T) {
	inv, err := NewInventory(InventoryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer inv.Close()
	const hosts = maxSpellingsByKey + 3
	for range 2 {
		for i := range hosts {
			u, _ := url.Parse(fmt.Sprintf("https://h%d.example.test/", i))
			inv.Record(Observation{Method: "GET", URL: u, StatusCode: 200})
			inv.Record(Observation{Method: "GET", URL: u, Route: "/", StatusCode: 200})
		}
	}
	if n := inv.Len(); n != hosts {
		t.Fatalf("Len = %d, want %d", n, hosts)
	}
	for _, e := range inv.Snapshot().Entries {
		if e.Calls != 4 {
			t.Fatalf("%s has %d calls, want 4", e.Origin, e.Calls)
		}
	}
	sp := inv.spellings.Load()
	if len(sp.byPath["/"]) != maxSpellingsByKey || len(sp.byRoute) != 0 {
		t.Fatalf("%d spellings of /, %d routes; want %d and none (the route's calls came to existing entries)", len(sp.byPath["/"]), len(sp.byRoute), maxSpellingsByKey)
	}
}

func spellingCount(sp *invSpellings) (n int) {
	for _, l := range sp.byRoute {
		n += len(l)
	}
	for _, l := range sp.byPath {
		n += len(l)
	}
	return n
}
