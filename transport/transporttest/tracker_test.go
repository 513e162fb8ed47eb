package transporttest

import (
	"errors"
	"io"
	"testing"
)

func TestTrackedBodyCounts(t *testing.T) {
	b := NewTrackedBody([]byte("hello world"))
	if b.Drained() || b.Closed() || b.Len() != 11 {
		t.Fatalf("fresh body: drained=%v closed=%v len=%d", b.Drained(), b.Closed(), b.Len())
	}
	p := make([]byte, 5)
	if n, err := b.Read(p); n != 5 || err != nil || string(p) != "hello" {
		t.Fatalf("Read = %d, %v, %q", n, err, p)
	}
	if b.BytesRead() != 5 || b.Drained() {
		t.Fatalf("after 5 bytes: read=%d drained=%v", b.BytesRead(), b.Drained())
	}
	rest, err := io.ReadAll(b)
	if err != nil || string(rest) != " world" {
		t.Fatalf("ReadAll = %q, %v", rest, err)
	}
	if !b.Drained() || b.BytesRead() != 11 {
		t.Fatalf("after ReadAll: read=%d drained=%v", b.BytesRead(), b.Drained())
	}
	if b.Reads() < 3 { // 5 bytes, 6 bytes, EOF
		t.Fatalf("Reads = %d, want >= 3", b.Reads())
	}
	_ = b.Close()
	_ = b.Close()
	if !b.Closed() || b.CloseCount() != 2 {
		t.Fatalf("Closed=%v CloseCount=%d", b.Closed(), b.CloseCount())
	}
}

func TestTrackedBodyReadAfterClose(t *testing.T) {
	b := NewTrackedBody([]byte("data"))
	_ = b.Close()
	if n, err := b.Read(make([]byte, 4)); n != 0 || !errors.Is(err, ErrBodyClosed) {
		t.Fatalf("Read after Close = %d, %v; want 0, ErrBodyClosed", n, err)
	}
	if b.BytesRead() != 0 {
		t.Fatalf("BytesRead = %d after a refused read", b.BytesRead())
	}
}

func TestTrackedBodyEmptyIsDrained(t *testing.T) {
	b := NewTrackedBody(nil)
	if !b.Drained() {
		t.Fatal("empty body not drained")
	}
	if n, err := b.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("Read = %d, %v; want 0, EOF", n, err)
	}
}
