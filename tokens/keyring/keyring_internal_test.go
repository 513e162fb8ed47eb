package keyring

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/godbus/dbus/v5"
	gokeyring "github.com/zalando/go-keyring"

	"github.com/securecall/securecall/tokens"
)

// blockingProvider blocks every call until release is closed.
type blockingProvider struct{ release chan struct{} }

func (p blockingProvider) Get(string, string) (string, error) { <-p.release; return "late", nil }
func (p blockingProvider) Set(string, string, string) error   { <-p.release; return nil }
func (p blockingProvider) Delete(string, string) error        { <-p.release; return nil }

func fakeStore(t *testing.T, p provider, opts ...Option) *Store {
	t.Helper()
	s, err := New("svc", opts...)
	if err != nil {
		t.Fatal(err)
	}
	s.p, s.preflight = p, nil
	return s
}

func TestDeadlineOnEveryCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := blockingProvider{release: make(chan struct{})}
		s := fakeStore(t, p, WithTimeout(2*time.Second))
		ctx := context.Background()
		ops := map[string]func() error{
			"get":    func() error { _, err := s.Get(ctx, "k"); return err },
			"set":    func() error { return s.Set(ctx, "k", []byte("v")) },
			"delete": func() error { return s.Delete(ctx, "k") },
		}
		for op, f := range ops {
			start := time.Now()
			err := f()
			if !errors.Is(err, tokens.ErrTimeout) || time.Since(start) != 2*time.Second {
				t.Fatalf("%s: %v after %v, want ErrTimeout after 2s", op, err, time.Since(start))
			}
			if !tokens.IsUnavailable(err) {
				t.Fatalf("%s: a timeout must count as unavailable for Chain fallbacks", op)
			}
		}
		// The caller's own deadline applies too, if shorter.
		dctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		start := time.Now()
		if _, err := s.Get(dctx, "k"); !errors.Is(err, tokens.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 500*time.Millisecond {
			t.Fatalf("caller deadline: %v after %v", err, time.Since(start))
		}
		// Four calls are now stuck: the fifth fails at once.
		start = time.Now()
		if _, err := s.Get(ctx, "k"); !errors.Is(err, tokens.ErrUnavailable) || time.Since(start) != 0 {
			t.Fatalf("beyond MaxBlocked: %v after %v", err, time.Since(start))
		}
		close(p.release) // the keyring answers at last; the stuck goroutines end
		synctest.Wait()
		if v, err := s.Get(ctx, "k"); err != nil || string(v) != "late" {
			t.Fatalf("after release: %q %v", v, err)
		}
	})
}

func TestCancelledContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := blockingProvider{release: make(chan struct{})}
		defer close(p.release)
		s := fakeStore(t, p)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := s.Get(ctx, "k"); !errors.Is(err, context.Canceled) || errors.Is(err, tokens.ErrTimeout) {
			t.Fatalf("pre-cancelled: %v", err)
		}
		ctx, cancel = context.WithCancel(context.Background())
		go func() { time.Sleep(time.Second); cancel() }()
		if _, err := s.Get(ctx, "k"); !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled while waiting: %v", err)
		}
	})
}

type errProvider struct{ err error }

func (p errProvider) Get(string, string) (string, error) { return "", p.err }
func (p errProvider) Set(string, string, string) error   { return p.err }
func (p errProvider) Delete(string, string) error        { return p.err }

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want error
	}{
		{gokeyring.ErrNotFound, tokens.ErrNotFound},
		{gokeyring.ErrSetDataTooBig, tokens.ErrTooLarge},
		{dbus.Error{Name: "org.freedesktop.DBus.Error.ServiceUnknown"}, tokens.ErrUnavailable},
		{&dbus.Error{Name: "org.freedesktop.DBus.Error.NameHasNoOwner"}, tokens.ErrUnavailable},
		{dbus.Error{Name: "org.freedesktop.DBus.Error.Spawn.ChildExited"}, tokens.ErrUnavailable},
		{dbus.Error{Name: "org.freedesktop.Secret.Error.IsLocked"}, tokens.ErrLocked},
		{dbus.Error{Name: "org.freedesktop.DBus.Error.NoReply"}, tokens.ErrTimeout},
		{&exec.Error{Name: "dbus-launch", Err: exec.ErrNotFound}, tokens.ErrUnavailable},
		{&net.OpError{Op: "dial", Net: "unix", Err: errors.New("connect: no such file or directory")}, tokens.ErrUnavailable},
		{fmt.Errorf("failed to unlock correct collection '%v'", "/org/freedesktop/secrets/aliases/default"), tokens.ErrLocked},
		{errors.New("dbus: couldn't determine address of session bus"), tokens.ErrUnavailable},
		{errors.New("something else"), nil},
	} {
		s := fakeStore(t, errProvider{tc.err})
		_, err := s.Get(context.Background(), "k")
		var se *tokens.StoreError
		if !errors.As(err, &se) || se.Err != tc.want || se.Cause == nil || se.Cause.Error() != tc.err.Error() {
			t.Errorf("%v: got %v (sentinel %v), want %v", tc.err, err, se.Err, tc.want)
		}
	}
}

func TestPlatformLimit(t *testing.T) {
	// The Secret Service: a D-Bus message of 32 MiB less the rest of it
	// (TestSecretServiceLimitFits checks it against the encoded message).
	for _, goos := range []string{"linux", "freebsd", "openbsd", "netbsd", "dragonfly"} {
		if got, want := platformLimit(goos, "svc", "key"), 32<<20-4096-2*(3+3); got != want {
			t.Fatalf("%s: %d, want %d", goos, got, want)
		}
	}
	if got := platformLimit("plan9", "svc", "key"); got != -1 {
		t.Fatalf("plan9: %d", got)
	}
	if got := platformLimit("windows", "svc", "key"); got != 2560 {
		t.Fatalf("windows: %d", got)
	}
	// macOS: the largest value whose go-keyring command line fits in 4096
	// bytes. Check against the command go-keyring builds.
	for _, svc := range []string{"svc", "my service", "it's"} {
		limit := platformLimit("darwin", svc, "client-secret")
		if limit < 2900 || limit > 3100 {
			t.Fatalf("darwin %q: %d, want about 3 KB", svc, limit)
		}
		b64 := (limit + 2) / 3 * 4
		line := len("add-generic-password -U -s ") + quotedLen(svc) + len(" -a ") + quotedLen("client-secret") + len(" -w ") + len("go-keyring-base64:") + b64 + 1
		if line > 4096 {
			t.Fatalf("darwin %q: a %d-byte value gives a %d-byte command", svc, limit, line)
		}
	}
	s := fakeStore(t, errProvider{})
	s.goos = "windows"
	if err := s.Set(context.Background(), "k", make([]byte, 2561)); !errors.Is(err, tokens.ErrTooLarge) || !strings.Contains(err.Error(), "windows") {
		t.Fatalf("windows limit not enforced: %v", err)
	}
	if err := s.Set(context.Background(), "k", make([]byte, 2560)); err != nil {
		t.Fatalf("2560 bytes on windows: %v", err)
	}
}

func TestNewConfigErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		service string
		opts    []Option
	}{
		"empty service": {"", nil},
		"control char":  {"a\nb", nil},
		"long service":  {strings.Repeat("s", maxServiceLen+1), nil},
		// D-Bus strings are UTF-8: every Secret Service call with this
		// name failed with a wire format error, none of the sentinels.
		"invalid UTF-8": {"billing\xff", nil},
		"zero timeout":  {"s", []Option{WithTimeout(0)}},
		"negative size": {"s", []Option{WithMaxSize(-1)}},
	} {
		var ce *tokens.ConfigError
		if _, err := New(tc.service, tc.opts...); !errors.As(err, &ce) {
			t.Errorf("%s: %v", name, err)
		}
	}
	s := fakeStore(t, errProvider{})
	if _, err := s.Get(context.Background(), "../x"); !errors.Is(err, tokens.ErrInvalidKey) {
		t.Fatalf("bad key: %v", err)
	}
}

// A call that has answered no longer counts as blocked: MaxBlocked
// callers, each calling again as soon as its call returns, never see
// "earlier keyring calls are still blocked", and when a call returns its
// own count is gone. The count used to be dropped after the answer was
// handed over, so a caller's next call could find its finished call still
// counted: TestRealConcurrent failed that way once on a loaded machine.
// The window was nanoseconds; this test checks the order by its invariant.
func TestAnsweredCallsAreNotBlocked(t *testing.T) {
	s := fakeStore(t, instantProvider{})
	var wg sync.WaitGroup
	for range MaxBlocked {
		wg.Go(func() {
			for range 5000 {
				if err := s.call(context.Background(), "get", "k", false, func() error { return nil }); err != nil {
					t.Error(err)
					return
				}
				if n := len(s.slots); n >= MaxBlocked {
					t.Errorf("%d calls counted in the keyring with at most %d in flight", n, MaxBlocked-1)
					return
				}
			}
		})
	}
	wg.Wait()
}

// instantProvider answers at once.
type instantProvider struct{}

func (instantProvider) Get(string, string) (string, error) { return "v", nil }
func (instantProvider) Set(string, string, string) error   { return nil }
func (instantProvider) Delete(string, string) error        { return nil }

// firstSetBlocksProvider is a keyring whose first Set hangs until release is
// closed (a locked keyring waiting for its prompt) and whose later calls
// answer at once. Values take effect when the call returns.
type firstSetBlocksProvider struct {
	mu      sync.Mutex
	sets    int
	m       map[string]string
	release chan struct{}
}

func (p *firstSetBlocksProvider) Get(_, user string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	v, ok := p.m[user]
	if !ok {
		return "", gokeyring.ErrNotFound
	}
	return v, nil
}

func (p *firstSetBlocksProvider) Set(_, user, pw string) error {
	p.mu.Lock()
	p.sets++
	first := p.sets == 1
	p.mu.Unlock()
	if first {
		<-p.release
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.m[user] = pw
	return nil
}

func (p *firstSetBlocksProvider) Delete(_, user string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.m, user)
	return nil
}

// A Set that timed out may still take effect later, but never after a Set
// made after it: otherwise the older value lands last. A Refresher whose
// write of rotated refresh token rt2 timed out writes rt3 on its next
// refresh; rt2 arriving after rt3 would leave a dead refresh token in the
// keyring, and the client locked out after a restart.
func TestTimedOutSetNeverOverwritesALaterSet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &firstSetBlocksProvider{m: map[string]string{}, release: make(chan struct{})}
		s := fakeStore(t, p, WithTimeout(time.Second))
		ctx := context.Background()
		if err := s.Set(ctx, "rt", []byte("rt2")); !errors.Is(err, tokens.ErrTimeout) {
			t.Fatalf("first Set = %v, want ErrTimeout", err)
		}
		// The second write is not confirmed while the first still hangs;
		// whatever it reports, it must land after the first.
		s.Set(ctx, "rt", []byte("rt3"))
		close(p.release) // the keyring answers the first Set at last
		synctest.Wait()
		if v, err := s.Get(ctx, "rt"); err != nil || string(v) != "rt3" {
			t.Fatalf("keyring holds %q (%v) after both writes, want the later rt3", v, err)
		}
	})
}

// gateProvider answers every call once release is closed: a healthy
// keyring that is merely busy.
type gateProvider struct{ release chan struct{} }

func (p gateProvider) Get(string, string) (string, error) { <-p.release; return "v", nil }
func (p gateProvider) Set(string, string, string) error   { <-p.release; return nil }
func (p gateProvider) Delete(string, string) error        { <-p.release; return nil }

// MaxBlocked bounds the calls stuck in the keyring (timed out, their
// goroutines still waiting), not the calls in flight: more than MaxBlocked
// concurrent callers of a keyring that answers within the timeout all get
// their answer. Failing the extra ones with ErrUnavailable would make a
// Chain with WhenUnavailable read a weaker store under mere load.
func TestConcurrentCallsBeyondMaxBlockedAreServed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := gateProvider{release: make(chan struct{})}
		s := fakeStore(t, p)
		var wg sync.WaitGroup
		errs := make(chan error, 2*MaxBlocked)
		for range 2 * MaxBlocked {
			wg.Go(func() {
				if _, err := s.Get(context.Background(), "k"); err != nil {
					errs <- err
				}
			})
		}
		synctest.Wait()         // every caller is in, none has timed out
		time.Sleep(time.Second) // the keyring answers well within the timeout
		close(p.release)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("healthy keyring, %d concurrent calls: %v", 2*MaxBlocked, err)
		}
	})
}

// A caller's deadline is ErrTimeout whether it passes during the call or
// had passed before it: the same condition must not change class (and with
// it IsUnavailable, which Chain fallbacks go by) with the moment it is seen.
func TestExpiredDeadlineBeforeCallIsTimeout(t *testing.T) {
	p := blockingProvider{release: make(chan struct{})}
	defer close(p.release)
	s := fakeStore(t, p)
	ctx, cancel := context.WithDeadline(context.Background(), time.Unix(1, 0))
	defer cancel()
	_, err := s.Get(ctx, "k")
	if !errors.Is(err, tokens.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Get with an expired deadline = %v, want ErrTimeout wrapping DeadlineExceeded", err)
	}
}

// A caller's deadline given with a cause of its own (WithTimeoutCause,
// WithDeadlineCause) is still a deadline: ErrTimeout, with the cause kept.
// It used to be classified by context.Cause alone, which then matches no
// sentinel: neither ErrTimeout nor tokens.IsUnavailable saw the timeout.
func TestCallerDeadlineWithCauseIsTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := blockingProvider{release: make(chan struct{})}
		defer close(p.release)
		s := fakeStore(t, p)
		budget := errors.New("request budget spent")
		for _, during := range []bool{false, true} {
			d := time.Duration(0)
			if during {
				d = time.Second
			}
			ctx, cancel := context.WithTimeoutCause(context.Background(), d, budget)
			_, err := s.Get(ctx, "k")
			cancel()
			if !errors.Is(err, tokens.ErrTimeout) || !errors.Is(err, budget) {
				t.Fatalf("deadline with a cause (passed during the call: %v): %v, want ErrTimeout and the cause", during, err)
			}
		}
	})
}
