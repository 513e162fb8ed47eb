package keyring

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	gokeyring "github.com/zalando/go-keyring"

	"github.com/securecall/securecall/internal/configerr"
	"github.com/securecall/securecall/tokens"
)

const (
	// DefaultTimeout bounds every keyring call when WithTimeout is not
	// given.
	DefaultTimeout = 5 * time.Second
	// DefaultMaxSize is the largest value Set accepts when WithMaxSize is
	// not given: 64 KiB. The Secret Service slows down above about
	// 100 KiB, and takes at most a D-Bus message (just under 32 MiB);
	// macOS and Windows have lower limits of their own. A platform's
	// limit always applies.
	DefaultMaxSize = 64 << 10
	// MaxBlocked is how many calls of one Store may be in the keyring at
	// once; further callers wait for one of them to answer. When that many
	// are blocked there (timed out, their goroutines still waiting),
	// further calls fail with tokens.ErrUnavailable at once.
	MaxBlocked = 4
	// maxServiceLen: Windows refuses target names from 512 bytes.
	maxServiceLen = 256
)

const backend = "keyring"

// minTimeout is the shortest WithTimeout accepted.
const minTimeout = time.Millisecond

// Option configures New.
type Option interface{ apply(*Store) }

type optionFunc func(*Store)

func (f optionFunc) apply(s *Store) { f(s) }

// WithTimeout bounds every call. Under a millisecond (no keyring call
// finishes in it: every call would fail with tokens.ErrTimeout, which a
// Chain with WhenUnavailable falls back on) is a *tokens.ConfigError.
// Default DefaultTimeout.
func WithTimeout(d time.Duration) Option { return optionFunc(func(s *Store) { s.timeout = d }) }

// WithMaxSize sets the largest value Set accepts, in bytes. The platform's
// own limit applies too: a value over it is tokens.ErrTooLarge, whatever n
// allows (the Secret Service's is just under 32 MiB, the largest D-Bus
// message every bus carries; see the package doc). An n above the
// platform's limit is not an error. Default DefaultMaxSize.
func WithMaxSize(n int) Option { return optionFunc(func(s *Store) { s.maxSize = n }) }

// provider is the part of go-keyring the Store uses; tests replace it.
type provider interface {
	Get(service, user string) (string, error)
	Set(service, user, password string) error
	Delete(service, user string) error
}

// Store is a tokens.Store in the OS keyring. Secrets are items of the
// Store's service, one per key (go-keyring's "user"). It is safe for
// concurrent use.
//
// Make a Store with New. A zero Store (new(Store)) has no keyring: the
// constructors that accept a tokens.Store (tokens.NewCachedStore,
// tokens.NewChain, tokens.NewRefresher, tokens.WithPersistence) refuse it
// with a *tokens.ConfigError, and its Get, Set and Delete return one.
type Store struct {
	service   string
	timeout   time.Duration
	maxSize   int
	goos      string
	p         provider
	preflight func() error  // checked before each call (session bus present)
	slots     chan struct{} // one per call in the keyring, at most MaxBlocked
	blocked   atomic.Int32  // calls stuck in the keyring: their callers gave up

	wmu   sync.Mutex
	wtail chan struct{} // closed when the last write made has answered
}

// New returns a Store for service, the application's name in the keyring
// ("securecall", "billing-service"): 1 to 256 bytes of printable UTF-8,
// else a *tokens.ConfigError. It does not touch the keyring.
func New(service string, opts ...Option) (*Store, error) {
	// D-Bus strings are UTF-8 (godbus refuses anything else), and Windows
	// converts the name to UTF-16.
	if service == "" || len(service) > maxServiceLen || !utf8.ValidString(service) || strings.ContainsFunc(service, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return nil, &tokens.ConfigError{Option: "service", Reason: fmt.Sprintf("want 1 to %d bytes of printable UTF-8", maxServiceLen)}
	}
	s := &Store{service: service, timeout: DefaultTimeout, maxSize: DefaultMaxSize, goos: runtime.GOOS, p: platformProvider(), preflight: sessionBus, slots: make(chan struct{}, MaxBlocked)}
	for _, o := range opts {
		if o != nil {
			o.apply(s)
		}
	}
	if s.timeout < minTimeout {
		return nil, &tokens.ConfigError{Option: "WithTimeout", Reason: fmt.Sprintf("need at least %v, got %v", minTimeout, s.timeout)}
	}
	if s.maxSize <= 0 {
		return nil, &tokens.ConfigError{Option: "WithMaxSize", Reason: fmt.Sprintf("must be positive, got %d", s.maxSize)}
	}
	return s, nil
}

// Service returns the keyring service name.
func (s *Store) Service() string { return s.service }

// Get returns the secret under key.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	if err := tokens.ValidateKey(key); err != nil {
		return nil, err
	}
	var v string
	err := s.call(ctx, "get", key, false, func() (err error) {
		v, err = s.p.Get(s.service, key)
		return err
	})
	if err != nil {
		return nil, err
	}
	return []byte(v), nil
}

// Set stores value under key, replacing any previous value, after checking
// the size limits. On the Secret Service it then deletes every other item
// of the service and key (one another program wrote with an attribute of
// its own, which the service's replace does not match), so the new value
// is the only one left; when that fails, Set returns the error, saying the
// new value is stored: it matches tokens.ErrStaleCopy too (a
// tokens.Refresher serves the refresh it stored, and reports the error).
func (s *Store) Set(ctx context.Context, key string, value []byte) error {
	if err := tokens.ValidateKey(key); err != nil {
		return err
	}
	if s.p == nil {
		return &tokens.ConfigError{Option: "Store", Reason: zeroReason(s)}
	}
	if len(value) > s.maxSize {
		return &tokens.StoreError{Backend: backend, Op: "set", Key: key, Err: tokens.ErrTooLarge,
			Cause: fmt.Errorf("%d bytes, limit %d (WithMaxSize)", len(value), s.maxSize)}
	}
	if limit := platformLimit(s.goos, s.service, key); limit >= 0 && len(value) > limit {
		return &tokens.StoreError{Backend: backend, Op: "set", Key: key, Err: tokens.ErrTooLarge,
			Cause: fmt.Errorf("%d bytes, the %s takes at most %d for this service and key", len(value), keyringName(s.goos), limit)}
	}
	v := string(value)
	return s.call(ctx, "set", key, true, func() error { return s.p.Set(s.service, key, v) })
}

// Delete removes the secret under key; a missing key is tokens.ErrNotFound.
// On the Secret Service it deletes every item of the service and key,
// including one another program wrote with an attribute of its own
// (Python's keyring adds "application"), so no copy is left for a later
// Get to serve. When one of them cannot be deleted (a prompt dismissed:
// tokens.ErrLocked) after others were, the error says how many were.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := tokens.ValidateKey(key); err != nil {
		return err
	}
	return s.call(ctx, "delete", key, true, func() error { return s.p.Delete(s.service, key) })
}

// errBlocked: too many calls are still waiting for the keyring.
var errBlocked = errors.New("earlier keyring calls are still blocked")

// call runs f on its own goroutine and waits for it, the Store's timeout or
// ctx, whichever comes first. Writes (Set, Delete) reach the keyring in the
// order they were made: a write starts only once the one before it has
// answered, so a timed-out write that takes effect late never lands after,
// and undoes, a later one (a rotated refresh token replaced by its
// predecessor).
func (s *Store) call(ctx context.Context, op, key string, write bool, f func() error) error {
	if s.p == nil {
		return &tokens.ConfigError{Option: "Store", Reason: zeroReason(s)}
	}
	fail := func(sentinel, cause error) error {
		return &tokens.StoreError{Backend: backend, Op: op, Key: key, Err: sentinel, Cause: cause}
	}
	cancelled := func() error {
		// A deadline given with a cause of its own (WithTimeoutCause) is a
		// deadline all the same: ctx.Err says so, the cause does not.
		cause := context.Cause(ctx)
		if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(cause, context.DeadlineExceeded) {
			return fail(tokens.ErrTimeout, cause)
		}
		return fail(nil, cause)
	}
	if ctx.Err() != nil {
		return cancelled()
	}
	if s.preflight != nil {
		if err := s.preflight(); err != nil {
			return fail(tokens.ErrUnavailable, err)
		}
	}
	if s.blocked.Load() >= MaxBlocked {
		return fail(tokens.ErrUnavailable, errBlocked)
	}
	timer := time.NewTimer(s.timeout)
	defer timer.Stop()
	timedOut := func() error { return fail(tokens.ErrTimeout, fmt.Errorf("no answer within %v", s.timeout)) }
	// At most MaxBlocked calls are in the keyring at once; a caller beyond
	// them waits, under its own deadline, for one to answer. Only calls
	// stuck there (given up on by their callers) make new calls fail at
	// once: a busy keyring is not an unavailable one.
	select {
	case s.slots <- struct{}{}:
	case <-timer.C:
		return timedOut()
	case <-ctx.Done():
		return cancelled()
	}
	var prev, mine chan struct{}
	if write {
		mine = make(chan struct{})
		s.wmu.Lock()
		prev, s.wtail = s.wtail, mine
		s.wmu.Unlock()
	}
	var state atomic.Int32 // 0 running, 1 given up on (counted in blocked), 2 answered
	done := make(chan error, 1)
	go func() {
		if prev != nil {
			<-prev
		}
		err := f()
		if mine != nil {
			close(mine)
		}
		// Out of the keyring before the answer is handed over: a caller
		// that calls again at once must not find this call still counted.
		<-s.slots
		if state.Swap(2) == 1 {
			s.blocked.Add(-1)
		}
		done <- err
	}()
	giveUp := func() {
		if state.CompareAndSwap(0, 1) {
			s.blocked.Add(1)
		}
	}
	select {
	case err := <-done:
		if err == nil {
			return nil
		}
		return fail(classify(s.goos, err), err)
	case <-timer.C:
		giveUp()
		return timedOut()
	case <-ctx.Done():
		giveUp()
		return cancelled()
	}
}

// classify maps a go-keyring error on goos to a tokens sentinel, or nil.
func classify(goos string, err error) error {
	switch {
	case errors.Is(err, gokeyring.ErrNotFound):
		return tokens.ErrNotFound
	case errors.Is(err, gokeyring.ErrSetDataTooBig):
		return tokens.ErrTooLarge
	}
	if goos == "darwin" {
		if sentinel := classifyKeychain(err); sentinel != nil {
			return sentinel
		}
	}
	return classifyPlatform(err)
}

// classifyKeychain recognises the failures of macOS's security command,
// which go-keyring hands back as its *exec.ExitError (the output, with the
// message, is dropped). Its exit status is the low byte of the OSStatus.
func classifyKeychain(err error) error {
	var xe *exec.ExitError
	if !errors.As(err, &xe) {
		return nil
	}
	switch xe.ExitCode() {
	case 36, // errSecInteractionNotAllowed: locked, and no way to prompt (SSH, launchd)
		51,  // errSecAuthFailed: the unlock was refused
		128: // errSecUserCanceled: the prompt was dismissed
		return tokens.ErrLocked
	case 37, // errSecNoDefaultKeychain
		50: // errSecNoSuchKeychain
		return tokens.ErrUnavailable
	}
	return nil
}

// platformLimit returns the largest value the keyring of goos takes for
// service and key, or -1 for no fixed limit.
func platformLimit(goos, service, key string) int {
	switch goos {
	case "darwin":
		// go-keyring runs `security -i` with the line
		//   add-generic-password -U -s <svc> -a <key> -w go-keyring-base64:<b64>\n
		// and refuses lines over 4096 bytes. Arguments are shell-quoted
		// (at most +2 bytes, +4 per single quote); base64 is 4/3 the size.
		const line, fixed = 4096, len("add-generic-password -U -s ") + len(" -a ") + len(" -w ") + len("go-keyring-base64:") + len("\n")
		b64 := line - fixed - quotedLen(service) - quotedLen(key)
		if b64 < 0 {
			return 0
		}
		return b64 / 4 * 3
	case "windows":
		return 2560 // CRED_MAX_CREDENTIAL_BLOB_SIZE / 2, as go-keyring enforces
	case "linux", "freebsd", "openbsd", "netbsd", "dragonfly":
		// The Secret Service: the value travels as a byte array in one
		// D-Bus message (CreateItem), with the item's label and attributes,
		// both of which hold service and key.
		return maxBusMessage - busMessageOverhead - 2*(len(service)+len(key))
	}
	return -1
}

const (
	// maxBusMessage is the largest D-Bus message every session bus is sure
	// to carry: dbus-daemon's built-in max_message_size, 32 MiB, which a
	// bus whose configuration sets none keeps (Debian's session.conf raises
	// it, and libdbus caps it at the specification's 128 MiB, as godbus
	// does). A larger message makes dbus-daemon drop the connection, which
	// godbus shares across the process: the call fails with a broken pipe,
	// and so does every other call in flight on it.
	maxBusMessage = 32 << 20
	// busMessageOverhead bounds the rest of CreateItem's message besides
	// service and key: the header (object path, interface, member,
	// destination, signature, and the sender the bus adds, a unique name
	// of at most 255 bytes), the label's fixed text, the attribute names,
	// the session path, the content type, and the lengths and padding of
	// the encoding: under 1.2 KiB with 255-byte paths and sender
	// (TestSecretServiceLimitFits).
	busMessageOverhead = 4096
)

// keyringName names the keyring of goos in an error.
func keyringName(goos string) string {
	switch goos {
	case "darwin", "windows":
		return goos + " keyring"
	}
	return "Secret Service (one D-Bus message)"
}

func quotedLen(s string) int { return len(s) + 2 + 4*strings.Count(s, "'") }

func init() { configerr.RegisterZeroCheck(zeroReason) }

// zeroReason returns why v, a *Store not made by New, cannot be used, and
// "" when it can.
func zeroReason(v any) string {
	if s, ok := v.(*Store); ok && s != nil && s.p == nil {
		return "a zero keyring.Store: not made by keyring.New"
	}
	return ""
}
