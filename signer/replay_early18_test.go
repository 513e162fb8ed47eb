package signer

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// recordingBody counts the bytes read from the body it wraps.
type recordingBody struct {
	r io.ReadCloser
	n atomic.Int64
}

func (b *recordingBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n.Add(int64(n))
	return n, err
}

func (b *recordingBody) Close() error { return b.r.Close() }

// signedPOST returns a POST of size bytes signed with the default policy
// (content-digest covered) by key k.
func signedPOST(t *testing.T, k *Key, size int) *http.Request {
	t.Helper()
	req, err := http.NewRequest("POST", "https://api.example.com/upload", bytes.NewReader(bytes.Repeat([]byte{'x'}, size)))
	if err != nil {
		t.Fatal(err)
	}
	if err := mustSigner(t, Options{Keys: StaticKey(k)}).Sign(context.Background(), req, t0); err != nil {
		t.Fatal(err)
	}
	return req
}

// withRecordedBody returns the server's view of req with its body wrapped
// in a recordingBody.
func withRecordedBody(t *testing.T, req *http.Request) (*http.Request, *recordingBody) {
	t.Helper()
	in := serverView(t, req)
	rb := &recordingBody{r: in.Body}
	in.Body = rb
	return in, rb
}

// TestVerifyReplayRefusedBeforeBodyRead: a replay of an accepted request
// whose signature covers content-digest was refused only by the nonce
// claim, after the verifier had read and hashed its body (up to
// MaxBodySize, here 1 MiB a copy). With a MemoryNonceStore (a
// NonceChecker) the nonce already claimed is refused once the signature
// verifies, before the body is read: 0 bytes.
func TestVerifyReplayRefusedBeforeBodyRead(t *testing.T) {
	const size = 1 << 20
	k := testKey(t, "k")
	v := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k)})
	req := signedPOST(t, k, size)
	first, rb := withRecordedBody(t, req)
	if _, err := v.Verify(first, t0); err != nil {
		t.Fatalf("first Verify: %v", err)
	}
	if got := rb.n.Load(); got != size {
		t.Fatalf("first Verify read %d bytes, want %d", got, size)
	}
	for i := range 3 {
		replay, rb := withRecordedBody(t, req)
		_, err := v.Verify(replay, t0.Add(time.Second))
		if !errors.Is(err, ErrReplay) {
			t.Fatalf("replay %d: err = %v, want ErrReplay", i, err)
		}
		if got := rb.n.Load(); got != 0 {
			t.Errorf("replay %d: the verifier read %d bytes of the body, want 0", i, got)
		}
	}
}

// countingStore is a NonceStore that is not a NonceChecker: it counts
// claims and passes them to a MemoryNonceStore.
type countingStore struct {
	m      *MemoryNonceStore
	claims atomic.Int32
}

func (s *countingStore) Claim(ctx context.Context, keyID, nonce string, now, until time.Time) error {
	s.claims.Add(1)
	return s.m.Claim(ctx, keyID, nonce, now, until)
}

// checkingStore is countingStore with a Seen that counts its calls.
type checkingStore struct {
	countingStore
	seen atomic.Int32
}

func (s *checkingStore) Seen(ctx context.Context, keyID, nonce string, now time.Time) (bool, error) {
	s.seen.Add(1)
	return s.m.Seen(ctx, keyID, nonce, now)
}

// TestVerifyReplayCustomStoreKeepsOrder: a store that has no read-only
// lookup (not a NonceChecker) is only claimed, after the body is read:
// the replay is still refused as ErrReplay.
func TestVerifyReplayCustomStoreKeepsOrder(t *testing.T) {
	const size = 4096
	k := testKey(t, "k")
	store := &countingStore{m: NewMemoryNonceStore(0)}
	v := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k), Nonces: store})
	req := signedPOST(t, k, size)
	if _, err := v.Verify(serverView(t, req), t0); err != nil {
		t.Fatal(err)
	}
	replay, rb := withRecordedBody(t, req)
	if _, err := v.Verify(replay, t0); !errors.Is(err, ErrReplay) {
		t.Fatalf("replay: err = %v, want ErrReplay", err)
	}
	if got := rb.n.Load(); got != size {
		t.Errorf("replay read %d bytes, want %d (the current order)", got, size)
	}
	if got := store.claims.Load(); got != 2 {
		t.Errorf("claims = %d, want 2", got)
	}
}

// TestVerifyEarlyNonceCheckRecordsNothing: the early lookup records no
// nonce and is made only for a signature that verifies: a forged
// signature makes no lookup, and a request whose signature verifies but
// whose body does not match its digest (altered on the way) is refused
// without its nonce being recorded, so the genuine request still passes.
func TestVerifyEarlyNonceCheckRecordsNothing(t *testing.T) {
	k := testKey(t, "k")
	store := &checkingStore{countingStore: countingStore{m: NewMemoryNonceStore(0)}}
	v := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k), Nonces: store})
	req := signedPOST(t, k, 100)

	forged := serverView(t, req)
	forged.Header.Set("Signature", "sig1=:"+"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="+":")
	if _, err := v.Verify(forged, t0); !errors.Is(err, ErrInvalidSignature) {
		t.Fatalf("forged: err = %v, want ErrInvalidSignature", err)
	}
	if n := store.seen.Load(); n != 0 {
		t.Errorf("forged signature: %d lookups, want 0", n)
	}

	altered := serverView(t, req)
	altered.Body = io.NopCloser(bytes.NewReader(bytes.Repeat([]byte{'y'}, 100)))
	if _, err := v.Verify(altered, t0); !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("altered body: err = %v, want ErrDigestMismatch", err)
	}
	if n := store.seen.Load(); n != 1 {
		t.Errorf("altered body: %d lookups, want 1", n)
	}
	if n, l := store.claims.Load(), store.m.Len(); n != 0 || l != 0 {
		t.Errorf("altered body: %d claims, %d nonces held; want none", n, l)
	}
	if _, err := v.Verify(serverView(t, req), t0); err != nil {
		t.Fatalf("genuine request after the altered one: %v", err)
	}
}

// TestMemoryNonceStoreSeen: Seen reports a claimed pair until its until,
// never records one, and a zero store reports a *ConfigError.
func TestMemoryNonceStoreSeen(t *testing.T) {
	ctx := context.Background()
	s := NewMemoryNonceStore(0)
	if seen, err := s.Seen(ctx, "k", "n", t0); seen || err != nil {
		t.Fatalf("before any claim: %v, %v", seen, err)
	}
	if s.Len() != 0 {
		t.Fatalf("Seen recorded a nonce: Len = %d", s.Len())
	}
	if err := s.Claim(ctx, "k", "n", t0, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if seen, err := s.Seen(ctx, "k", "n", t0.Add(time.Minute)); !seen || err != nil {
		t.Errorf("at its until: %v, %v; want seen", seen, err)
	}
	if seen, _ := s.Seen(ctx, "k", "other", t0); seen {
		t.Error("another nonce seen")
	}
	if seen, _ := s.Seen(ctx, "k", "n", t0.Add(time.Minute+time.Nanosecond)); seen {
		t.Error("seen after its until")
	}
	var zero MemoryNonceStore
	var ce *ConfigError
	if _, err := zero.Seen(ctx, "k", "n", t0); !errors.As(err, &ce) {
		t.Errorf("zero store: err = %v, want a *ConfigError", err)
	}
}
