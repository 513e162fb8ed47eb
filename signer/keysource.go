package signer

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
)

// KeySource supplies the key a Signer signs with. It is asked on every
// Sign, so a source that rotates keys takes effect on the next request; the
// new key's id travels in the keyid parameter and the verifier picks the
// matching key by it. Implementations must be safe for concurrent use and
// fast (cache secrets in memory: a keyring read costs milliseconds).
//
// A source that cannot supply the key right now but may shortly (its
// keyring or secret manager briefly unreachable) returns an error wrapping
// ErrKeyUnavailable; the transport retry layer then tries the request
// again. Sign returns a source's error inside a *KeyError.
type KeySource interface {
	SigningKey(ctx context.Context) (*Key, error)
}

// KeyLookup finds a verification key by key id. It returns an error
// wrapping ErrUnknownKey when it has no key with that id; a key of another
// id (a default for ids it does not know) is refused by the verifier as
// ErrUnknownKey too. Implementations must be safe for concurrent use.
type KeyLookup interface {
	LookupKey(ctx context.Context, keyID string) (*Key, error)
}

// StaticKey returns a KeySource and KeyLookup holding the single key k.
// New and NewVerifier (and client.WithHMACSigning) refuse the source of a
// nil k, or of a zero Key, with a *ConfigError naming their Keys; New also
// refuses it for a verification-only k (made by NewEd25519PublicKey).
func StaticKey(k *Key) interface {
	KeySource
	KeyLookup
} {
	return staticKey{k}
}

type staticKey struct{ k *Key }

func (s staticKey) SigningKey(context.Context) (*Key, error) {
	if s.k == nil {
		return nil, &ConfigError{Option: "StaticKey", Reason: "nil key"}
	}
	if s.k.quotedID == nil {
		return nil, &ConfigError{Option: "StaticKey", Reason: errZeroKey.Reason}
	}
	return s.k, nil
}

func (s staticKey) LookupKey(_ context.Context, keyID string) (*Key, error) {
	if s.k == nil || s.k.id != keyID {
		return nil, ErrUnknownKey
	}
	return s.k, nil
}

// KeySet holds one current signing key and any number of older keys kept
// for verification, which is how keys rotate without downtime:
//
//  1. give every verifier the new key (Add), while signers keep the old one;
//  2. make it current on the signers (Rotate): new signatures carry its id;
//  3. once no signature made with the old key can still be accepted (the
//     verifier's maximum age plus skew), Remove the old key everywhere.
//
// A KeySet is a KeySource and a KeyLookup. Reads are lock-free; the methods
// that change the set serialise among themselves.
//
// Make a KeySet with NewKeySet. A zero KeySet (new(KeySet)) holds no keys
// and cannot be changed: New, NewVerifier and client.WithHMACSigning refuse
// it with a *ConfigError, and its methods return a *ConfigError ("not made
// by NewKeySet") or, for LookupKey, one that also matches ErrUnknownKey.
type KeySet struct {
	mu    sync.Mutex // serialises writers
	state atomic.Pointer[keySetState]
}

type keySetState struct {
	current *Key
	keys    map[string]*Key
}

// NewKeySet returns a set whose current (signing) key is current; others are
// accepted for verification only. Key ids must be distinct. current may be
// nil for a verification-only set; a current key that cannot sign (made by
// NewEd25519PublicKey) is a *ConfigError, as Rotate refuses it.
func NewKeySet(current *Key, others ...*Key) (*KeySet, error) {
	st := &keySetState{current: current, keys: make(map[string]*Key, 1+len(others))}
	all := others
	if current != nil {
		all = append([]*Key{current}, others...)
	}
	for i, k := range all {
		if k == nil {
			return nil, &ConfigError{Option: "NewKeySet", Reason: "nil key at position " + strconv.Itoa(i)}
		}
		if k.quotedID == nil {
			return nil, &ConfigError{Option: "NewKeySet", Reason: "key at position " + strconv.Itoa(i) + ": " + errZeroKey.Reason}
		}
		if i == 0 && current != nil && !k.CanSign() {
			return nil, &ConfigError{Option: "NewKeySet", Reason: "current key " + strconv.Quote(k.id) + " is verification-only"}
		}
		if _, dup := st.keys[k.id]; dup {
			return nil, &ConfigError{Option: "NewKeySet", Reason: "duplicate key id " + strconv.Quote(k.id)}
		}
		st.keys[k.id] = k
	}
	s := &KeySet{}
	s.state.Store(st)
	return s, nil
}

// SigningKey returns the current key.
func (s *KeySet) SigningKey(context.Context) (*Key, error) {
	st := s.state.Load()
	if st == nil {
		return nil, zeroErr(errZeroKeySet)
	}
	if st.current == nil {
		return nil, &ConfigError{Option: "KeySet", Reason: "no current signing key"}
	}
	return st.current, nil
}

// LookupKey returns the key with id keyID, or ErrUnknownKey.
func (s *KeySet) LookupKey(_ context.Context, keyID string) (*Key, error) {
	st := s.state.Load()
	if st == nil {
		return nil, &ConfigError{Option: "KeySet", Reason: errZeroKeySet.Reason, Err: ErrUnknownKey}
	}
	if k, ok := st.keys[keyID]; ok {
		return k, nil
	}
	return nil, ErrUnknownKey
}

// Add adds a verification key without changing the current key. Adding a
// key id that is already present with a different key is an error.
func (s *KeySet) Add(k *Key) error {
	if k == nil {
		return &ConfigError{Option: "KeySet.Add", Reason: "nil key"}
	}
	if k.quotedID == nil {
		return &ConfigError{Option: "KeySet.Add", Reason: errZeroKey.Reason}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.state.Load()
	if old == nil {
		return zeroErr(errZeroKeySet)
	}
	if prev, ok := old.keys[k.id]; ok {
		if prev == k {
			return nil
		}
		return &ConfigError{Option: "KeySet.Add", Reason: "key id " + strconv.Quote(k.id) + " already holds another key"}
	}
	s.state.Store(old.with(k, old.current))
	return nil
}

// Rotate makes k the current signing key, adding it if needed. The previous
// current key stays in the set for verification until Remove.
func (s *KeySet) Rotate(k *Key) error {
	if k == nil {
		return &ConfigError{Option: "KeySet.Rotate", Reason: "nil key"}
	}
	if k.quotedID == nil {
		return &ConfigError{Option: "KeySet.Rotate", Reason: errZeroKey.Reason}
	}
	if !k.CanSign() {
		return &ConfigError{Option: "KeySet.Rotate", Reason: "key " + strconv.Quote(k.id) + " is verification-only"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.state.Load()
	if old == nil {
		return zeroErr(errZeroKeySet)
	}
	if prev, ok := old.keys[k.id]; ok && prev != k {
		return &ConfigError{Option: "KeySet.Rotate", Reason: "key id " + strconv.Quote(k.id) + " already holds another key"}
	}
	s.state.Store(old.with(k, k))
	return nil
}

// Remove drops the key with id keyID. The current key cannot be removed;
// Rotate to another key first.
func (s *KeySet) Remove(keyID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.state.Load()
	if old == nil {
		return zeroErr(errZeroKeySet)
	}
	if old.current != nil && old.current.id == keyID {
		return &ConfigError{Option: "KeySet.Remove", Reason: "cannot remove the current key " + strconv.Quote(keyID)}
	}
	if _, ok := old.keys[keyID]; !ok {
		return ErrUnknownKey
	}
	st := &keySetState{current: old.current, keys: make(map[string]*Key, len(old.keys))}
	for id, k := range old.keys {
		if id != keyID {
			st.keys[id] = k
		}
	}
	s.state.Store(st)
	return nil
}

// IDs returns the ids of the keys in the set, current first.
func (s *KeySet) IDs() []string {
	st := s.state.Load()
	if st == nil {
		return nil
	}
	out := make([]string, 0, len(st.keys))
	if st.current != nil {
		out = append(out, st.current.id)
	}
	for id := range st.keys {
		if st.current == nil || id != st.current.id {
			out = append(out, id)
		}
	}
	if len(out) > 1 {
		rest := out[1:]
		if st.current == nil {
			rest = out
		}
		slices.Sort(rest)
	}
	return out
}

func (st *keySetState) with(k, current *Key) *keySetState {
	n := &keySetState{current: current, keys: make(map[string]*Key, len(st.keys)+1)}
	for id, v := range st.keys {
		n.keys[id] = v
	}
	n.keys[k.id] = k
	return n
}
