package redact

import (
	"errors"
	"fmt"
	"testing"
)

// formattedLeaf is an error of another package's kind: it wraps nothing
// and formats its message on every Error call.
type formattedLeaf struct{ what, val string }

func (e *formattedLeaf) Error() string { return fmt.Sprintf("%s %q", e.what, e.val) }

// TestErrorOtherLeafUntouched: a leaf error of a type that is none of
// net/http's is returned as it is, without allocating (its Error is not
// called), even when its message begins like one of net/http's response
// errors: errors.As still finds it.
func TestErrorOtherLeafUntouched(t *testing.T) {
	p := &Policy{}
	leaf := &formattedLeaf{"bad Content-Length", "12x"}
	err := fmt.Errorf("upstream: %w", leaf)
	if got := p.Error(err); got != err {
		t.Fatalf("Error replaced %v with %v", err, got)
	}
	var fl *formattedLeaf
	if !errors.As(p.Error(err), &fl) {
		t.Error("errors.As no longer finds the caller's error type")
	}
	if n := testing.AllocsPerRun(100, func() { _ = p.Error(err) }); n != 0 {
		t.Errorf("Error of an error without a *url.Error: %v allocs, want 0", n)
	}
}
