package transporttest

import (
	"errors"
	"io"
	"sync"
)

// ErrBodyClosed is returned by TrackedBody.Read after Close, as a real
// response body returns an error when read after it was closed.
var ErrBodyClosed = errors.New("transporttest: read on closed body")

// TrackedBody is an io.ReadCloser over a fixed byte slice that records how
// it was used: the number of Read and Close calls and the bytes read. It is
// safe for concurrent use.
//
// The Responder hands one out for every response that has a body; a test
// uses one as req.Body to check that a layer closes the request body.
type TrackedBody struct {
	mu     sync.Mutex
	data   []byte
	off    int
	reads  int
	closes int
}

// NewTrackedBody returns a TrackedBody that reads data. data is not copied
// and must not be modified while the body is in use.
func NewTrackedBody(data []byte) *TrackedBody {
	return &TrackedBody{data: data}
}

// Read reads from the remaining data. It returns io.EOF once all data was
// read and ErrBodyClosed after Close.
func (b *TrackedBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.reads++
	if b.closes > 0 {
		return 0, ErrBodyClosed
	}
	if b.off >= len(b.data) {
		return 0, io.EOF
	}
	n := copy(p, b.data[b.off:])
	b.off += n
	return n, nil
}

// Close marks the body closed. Closing twice is not an error (the io.Closer
// contract leaves it undefined; net/http's bodies allow it), but CloseCount
// tells a test that wants exactly one Close.
func (b *TrackedBody) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closes++
	return nil
}

// Closed reports whether Close was called at least once.
func (b *TrackedBody) Closed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closes > 0
}

// CloseCount returns the number of Close calls.
func (b *TrackedBody) CloseCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closes
}

// Reads returns the number of Read calls, including those that returned
// io.EOF or ErrBodyClosed.
func (b *TrackedBody) Reads() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.reads
}

// BytesRead returns the number of bytes read so far.
func (b *TrackedBody) BytesRead() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return int64(b.off)
}

// Drained reports whether every byte of the body was read. An empty body is
// always drained.
func (b *TrackedBody) Drained() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.off >= len(b.data)
}

// Len returns the total size of the body in bytes.
func (b *TrackedBody) Len() int64 { return int64(len(b.data)) }
