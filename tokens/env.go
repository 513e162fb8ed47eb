package tokens

import (
	"context"
	"os"
	"strings"
)

// EnvStore is a read-only Store over environment variables, for containers
// and CI where secrets arrive as variables. Key "client-secret" with prefix
// "MYAPP_" reads MYAPP_CLIENT_SECRET: the key is upper-cased and '.' and '-'
// become '_'. An unset or empty variable is ErrNotFound; Set and Delete fail
// with ErrReadOnly.
//
// Environment variables are visible to every process that can read
// /proc/<pid>/environ as the same user and are inherited by child
// processes; prefer a FileStore or the keyring where you can.
type EnvStore struct {
	prefix string
	lookup func(string) (string, bool)
}

// NewEnvStore returns an EnvStore reading variables named prefix + the
// mapped key. The prefix must be empty or a valid variable name prefix
// ([A-Z0-9_], not starting with a digit).
func NewEnvStore(prefix string) (*EnvStore, error) {
	for i, c := range prefix {
		if !(c >= 'A' && c <= 'Z' || c == '_' || c >= '0' && c <= '9' && i > 0) {
			return nil, configErr("prefix", "%q is not an upper-case environment variable prefix", prefix)
		}
	}
	return &EnvStore{prefix: prefix, lookup: os.LookupEnv}, nil
}

// Var returns the variable name key maps to.
func (s *EnvStore) Var(key string) string {
	return s.prefix + strings.Map(func(r rune) rune {
		switch {
		case r == '.' || r == '-':
			return '_'
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		}
		return r
	}, key)
}

// Get returns the variable's value.
func (s *EnvStore) Get(ctx context.Context, key string) ([]byte, error) {
	if err := ValidateKey(key); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, &StoreError{Backend: "env", Op: "get", Key: key, Cause: err}
	}
	if s.lookup == nil {
		return nil, zeroErr(s)
	}
	v, ok := s.lookup(s.Var(key))
	if !ok || v == "" {
		return nil, &StoreError{Backend: "env", Op: "get", Key: key, Err: ErrNotFound}
	}
	return []byte(v), nil
}

// Set fails with ErrReadOnly (ErrInvalidKey for a key ValidateKey refuses).
func (s *EnvStore) Set(_ context.Context, key string, _ []byte) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	return &StoreError{Backend: "env", Op: "set", Key: key, Err: ErrReadOnly}
}

// Delete fails with ErrReadOnly (ErrInvalidKey for a key ValidateKey
// refuses).
func (s *EnvStore) Delete(_ context.Context, key string) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	return &StoreError{Backend: "env", Op: "delete", Key: key, Err: ErrReadOnly}
}
