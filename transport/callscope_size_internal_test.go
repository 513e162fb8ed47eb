package transport

import (
	"testing"
	"unsafe"
)

// TestCallScopeSizeClass: the call scope is the one allocation that holds
// a call's state, its request copy and its first attempt. With the 8 B
// header the allocator puts before an object with pointers over 512 B, it
// must stay within 1 272 B (on 64-bit platforms) to fit the 1 280 B size
// class; past it the allocator rounds it up to 1 408 B, 128 B more per
// call (docs/performance.md, session 8).
func TestCallScopeSizeClass(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("sizes are for 64-bit platforms")
	}
	if n := unsafe.Sizeof(callScope{}); n > 1272 {
		t.Fatalf("callScope is %d B: with its 8 B malloc header, over the 1 280 B size class", n)
	}
}
