package keyring_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/tokens/keyring"
)

// mainBus is the unlocked Secret Service of this test process; serviceErr
// says why there is none (binaries missing on a developer machine).
var (
	mainBus    *bus
	serviceErr error
)

const childEnv = "SECURECALL_KEYRING_CHILD"

// storeSeq numbers the stores newStore makes.
var storeSeq int

func TestMain(m *testing.M) {
	if scenario := os.Getenv(childEnv); scenario != "" {
		os.Exit(runChild(scenario))
	}
	b, err := startBus()
	if err == nil {
		if err = b.startKeyring(true); err != nil {
			b.stop()
		}
	}
	if err != nil {
		if inCI() {
			fmt.Fprintln(os.Stderr, "keyring tests: real Secret Service unavailable in CI:", err)
			os.Exit(1)
		}
		serviceErr = err
	} else {
		mainBus = b
		// godbus connects once per process and caches the connection: the
		// address must be set before the first keyring call.
		os.Setenv("DBUS_SESSION_BUS_ADDRESS", b.addr)
	}
	code := m.Run()
	if mainBus != nil {
		mainBus.stop()
	}
	os.Exit(code)
}

// needService skips (or, in CI, fails) a test that needs the real Secret
// Service.
func needService(t *testing.T) {
	t.Helper()
	if serviceErr != nil {
		if inCI() {
			t.Fatalf("real Secret Service unavailable: %v", serviceErr)
		}
		t.Skipf("real Secret Service unavailable: %v", serviceErr)
	}
}

func newStore(t *testing.T, opts ...keyring.Option) *keyring.Store {
	t.Helper()
	// A service name of its own per run, so -count=N runs start empty.
	storeSeq++
	s, err := keyring.New(fmt.Sprintf("securecall-test-%s-%d-%d", strings.ReplaceAll(t.Name(), "/", "-"), os.Getpid(), storeSeq), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRealRoundTrip(t *testing.T) {
	needService(t)
	ctx := context.Background()
	s := newStore(t)
	if _, err := s.Get(ctx, "client-secret"); !errors.Is(err, tokens.ErrNotFound) {
		t.Fatalf("Get(missing) = %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, "client-secret"); !errors.Is(err, tokens.ErrNotFound) {
		t.Fatalf("Delete(missing) = %v, want ErrNotFound", err)
	}
	for _, v := range [][]byte{
		[]byte("s3cr3t"),
		[]byte("pässwörd-🔑-日本語-\x00-end"),
		bytes.Repeat([]byte("k"), 4096),
	} {
		if err := s.Set(ctx, "client-secret", v); err != nil {
			t.Fatalf("Set(%d bytes): %v", len(v), err)
		}
		got, err := s.Get(ctx, "client-secret")
		if err != nil || !bytes.Equal(got, v) {
			t.Fatalf("Get = %d bytes %v, want %d bytes", len(got), err, len(v))
		}
	}
	if err := s.Delete(ctx, "client-secret"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "client-secret"); !errors.Is(err, tokens.ErrNotFound) {
		t.Fatalf("after Delete: %v", err)
	}
	var se *tokens.StoreError
	_, err := s.Get(ctx, "client-secret")
	if !errors.As(err, &se) || se.Backend != "keyring" || se.Op != "get" || se.Key != "client-secret" {
		t.Fatalf("error = %#v", err)
	}
}

// TestRealSecretToolSeesItems cross-checks with libsecret's secret-tool
// that the items really live in the Secret Service, both ways.
func TestRealSecretToolSeesItems(t *testing.T) {
	needService(t)
	if _, err := exec.LookPath("secret-tool"); err != nil {
		if inCI() {
			t.Fatal("secret-tool not installed (libsecret-tools)")
		}
		t.Skip("secret-tool not installed (libsecret-tools)")
	}
	ctx := context.Background()
	s := newStore(t)
	if err := s.Set(ctx, "api-key", []byte("from-go-ü")); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("secret-tool", "lookup", "service", s.Service(), "username", "api-key").Output()
	if err != nil || string(out) != "from-go-ü" {
		t.Fatalf("secret-tool lookup = %q, %v", out, err)
	}
	cmd := exec.Command("secret-tool", "store", "--label=x", "service", s.Service(), "username", "other")
	cmd.Stdin = strings.NewReader("from-secret-tool")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("secret-tool store: %v %s", err, out)
	}
	if got, err := s.Get(ctx, "other"); err != nil || string(got) != "from-secret-tool" {
		t.Fatalf("Get(other) = %q %v", got, err)
	}
}

func TestRealSizeLimit(t *testing.T) {
	needService(t)
	ctx := context.Background()
	s := newStore(t, keyring.WithMaxSize(1024))
	if err := s.Set(ctx, "big", make([]byte, 1025)); !errors.Is(err, tokens.ErrTooLarge) {
		t.Fatalf("Set(1025) = %v, want ErrTooLarge", err)
	}
	if _, err := s.Get(ctx, "big"); !errors.Is(err, tokens.ErrNotFound) {
		t.Fatalf("a refused value was written: %v", err)
	}
	if err := s.Set(ctx, "big", make([]byte, 1024)); err != nil {
		t.Fatalf("Set(1024) = %v", err)
	}
	if err := newStore(t).Set(ctx, "huge", make([]byte, keyring.DefaultMaxSize+1)); !errors.Is(err, tokens.ErrTooLarge) {
		t.Fatalf("default limit: %v", err)
	}
}

func TestRealConcurrent(t *testing.T) {
	needService(t)
	ctx := context.Background()
	s := newStore(t, keyring.WithTimeout(30*time.Second))
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			key := fmt.Sprintf("k%d", i)
			for j := range 5 {
				v := []byte(fmt.Sprintf("%s-%d", key, j))
				if err := s.Set(ctx, key, v); err != nil {
					t.Error(err)
					return
				}
				if got, err := s.Get(ctx, key); err != nil || !bytes.Equal(got, v) {
					t.Errorf("Get %s = %q %v", key, got, err)
				}
			}
			if err := s.Delete(ctx, key); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

// TestRealCachedStoreAndChain: the keyring behind a CachedStore (read once)
// and as the primary of a Chain with an explicit file fallback.
func TestRealCachedStoreAndChain(t *testing.T) {
	needService(t)
	ctx := context.Background()
	s := newStore(t)
	s.Set(ctx, "client-secret", []byte("v1"))
	var rotated []string
	cached, err := tokens.NewCachedStore(s, tokens.WithOnChange(func(k string) { rotated = append(rotated, k) }))
	if err != nil {
		t.Fatal(err)
	}
	if v, err := cached.Get(ctx, "client-secret"); err != nil || string(v) != "v1" {
		t.Fatalf("%q %v", v, err)
	}
	s.Set(ctx, "client-secret", []byte("v2")) // rotated behind the cache's back
	if v, _ := cached.Get(ctx, "client-secret"); string(v) != "v1" {
		t.Fatalf("second Get read the keyring again: %q", v)
	}
	if v, err := cached.Refresh(ctx, "client-secret"); err != nil || string(v) != "v2" || len(rotated) != 1 {
		t.Fatalf("Refresh = %q %v, hook %v", v, err, rotated)
	}

	files, _ := tokens.NewFileStore(t.TempDir() + "/secrets")
	files.Set(ctx, "only-in-file", []byte("f"))
	chain, err := tokens.NewChain(tokens.Backend{Name: "keyring", Store: s}, tokens.Fallback(tokens.Backend{Name: "file", Store: files}, tokens.WhenNotFound))
	if err != nil {
		t.Fatal(err)
	}
	if _, from, err := chain.Lookup(ctx, "client-secret"); err != nil || from != "keyring" {
		t.Fatalf("Lookup = %q %v", from, err)
	}
	if v, from, err := chain.Lookup(ctx, "only-in-file"); err != nil || from != "file" || string(v) != "f" {
		t.Fatalf("Lookup = %q from %q %v", v, from, err)
	}
}

// childResult is what a child process reports for each call it made.
type childResult struct {
	Sentinel string
	Err      string
	Channels int  `json:",omitempty"` // scenario unlock: signal channels left registered
	Stale    bool `json:",omitempty"` // the error matches tokens.ErrStaleCopy
}

func sentinelOf(err error) string {
	for name, s := range map[string]error{
		"ErrNotFound": tokens.ErrNotFound, "ErrUnavailable": tokens.ErrUnavailable, "ErrLocked": tokens.ErrLocked,
		"ErrTimeout": tokens.ErrTimeout, "ErrTooLarge": tokens.ErrTooLarge,
	} {
		if errors.Is(err, s) {
			return name
		}
	}
	if err == nil {
		return "nil"
	}
	return "other"
}

// runChild runs in a fresh test-binary process whose DBUS_SESSION_BUS_ADDRESS
// the parent chose (godbus caches the session bus per process, so every
// bus needs its own process). It makes `calls` Get calls and prints one
// JSON childResult per call.
func runChild(scenario string) int {
	timeout := 5 * time.Second
	calls := 1
	if scenario == "hang" {
		timeout, calls = 300*time.Millisecond, keyring.MaxBlocked+1
	}
	s, err := keyring.New("securecall-child", keyring.WithTimeout(timeout))
	if err != nil {
		fmt.Println(err)
		return 2
	}
	enc := json.NewEncoder(os.Stdout)
	report := func(err error) {
		r := childResult{Sentinel: sentinelOf(err), Stale: errors.Is(err, tokens.ErrStaleCopy)}
		if err != nil {
			r.Err = err.Error()
		}
		enc.Encode(r)
	}
	if scenario == "unlock" {
		for range 3 {
			_, err := s.Get(context.Background(), "probe")
			report(err)
		}
		report(s.Set(context.Background(), "probe", []byte("new")))
		report(s.Delete(context.Background(), "probe"))
		enc.Encode(childResult{Sentinel: "channels", Channels: signalChannels()})
		return 0
	}
	if scenario == "dismiss" {
		report(s.Set(context.Background(), "probe", []byte("new")))
		report(s.Delete(context.Background(), "probe"))
		return 0
	}
	for range calls {
		_, err := s.Get(context.Background(), "probe")
		r := childResult{Sentinel: sentinelOf(err)}
		if err != nil {
			r.Err = err.Error()
		}
		enc.Encode(r)
	}
	return 0
}

// child runs scenario in a new process with the given bus address.
func child(t *testing.T, scenario, busAddr string) []childResult {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(filteredEnv(), childEnv+"="+scenario, "DBUS_SESSION_BUS_ADDRESS="+busAddr, "HOME="+t.TempDir())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child %s: %v\n%s%s", scenario, err, out, stderr.String())
	}
	var rs []childResult
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var r childResult
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("child %s output %q: %v", scenario, out, err)
		}
		rs = append(rs, r)
	}
	return rs
}

func startBusFor(t *testing.T) *bus {
	t.Helper()
	needService(t)
	b, err := startBus()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.stop)
	return b
}

func TestNoServiceDeadSocket(t *testing.T) {
	needService(t)
	rs := child(t, "dead-socket", "unix:path="+t.TempDir()+"/no-such-bus")
	if len(rs) != 1 || rs[0].Sentinel != "ErrUnavailable" {
		t.Fatalf("dead socket: %+v, want ErrUnavailable", rs)
	}
}

func TestNoServiceOnBus(t *testing.T) {
	b := startBusFor(t) // a bus, but nothing provides org.freedesktop.secrets
	rs := child(t, "no-service", b.addr)
	if len(rs) != 1 || rs[0].Sentinel != "ErrUnavailable" || !strings.Contains(rs[0].Err, "org.freedesktop.secrets") {
		t.Fatalf("no service: %+v, want ErrUnavailable (ServiceUnknown)", rs)
	}
}

func TestLockedKeyring(t *testing.T) {
	b := startBusFor(t)
	if err := b.startKeyring(false); err != nil { // running, never unlocked
		t.Fatal(err)
	}
	rs := child(t, "locked", b.addr)
	if len(rs) != 1 || rs[0].Sentinel != "ErrLocked" {
		t.Fatalf("locked keyring: %+v, want ErrLocked", rs)
	}
}

// hangingService owns org.freedesktop.secrets on a bus and never answers:
// a keyring waiting forever for its unlock prompt.
type hangingService struct{ release chan struct{} }

func (h hangingService) Get(iface, prop string) (dbus.Variant, *dbus.Error) {
	<-h.release
	return dbus.MakeVariant(""), dbus.MakeFailedError(errors.New("released"))
}

func TestHangingKeyringTimesOut(t *testing.T) {
	b := startBusFor(t)
	conn, err := dbus.Connect(b.addr)
	if err != nil {
		t.Fatal(err)
	}
	h := hangingService{release: make(chan struct{})}
	t.Cleanup(func() { close(h.release); conn.Close() })
	if err := conn.Export(h, "/org/freedesktop/secrets", "org.freedesktop.DBus.Properties"); err != nil {
		t.Fatal(err)
	}
	if reply, err := conn.RequestName(secretsName, dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("RequestName: %v %v", reply, err)
	}
	rs := child(t, "hang", b.addr)
	if len(rs) != keyring.MaxBlocked+1 {
		t.Fatalf("%d results", len(rs))
	}
	for i, r := range rs[:keyring.MaxBlocked] {
		if r.Sentinel != "ErrTimeout" {
			t.Fatalf("call %d: %+v, want ErrTimeout", i, r)
		}
	}
	// The blocked calls are still stuck in go-keyring: the next one fails
	// at once instead of adding another stuck goroutine.
	if last := rs[keyring.MaxBlocked]; last.Sentinel != "ErrUnavailable" || !strings.Contains(last.Err, "still blocked") {
		t.Fatalf("call beyond MaxBlocked: %+v, want ErrUnavailable (still blocked)", last)
	}
}

// TestRealSizeBeyondTheBus: a value WithMaxSize allows that the session bus
// cannot carry is refused with ErrTooLarge before it is sent. Sent, the
// message over the bus's max_message_size (dbus-daemon's default 32 MiB,
// which the tests' bus keeps) made dbus-daemon drop the process's shared
// connection: ErrUnavailable, and every other call on it failed.
func TestRealSizeBeyondTheBus(t *testing.T) {
	needService(t)
	ctx := context.Background()
	s := newStore(t, keyring.WithMaxSize(64<<20), keyring.WithTimeout(time.Minute))
	limit := keyring.SecretServiceLimit(s.Service(), "big")
	if limit <= keyring.DefaultMaxSize || limit >= 32<<20 {
		t.Fatalf("Secret Service limit %d, want between DefaultMaxSize and 32 MiB", limit)
	}
	for _, n := range []int{40 << 20, limit + 1} {
		err := s.Set(ctx, "big", make([]byte, n))
		if !errors.Is(err, tokens.ErrTooLarge) || !strings.Contains(err.Error(), "Secret Service") {
			t.Fatalf("Set(%d bytes) = %v, want ErrTooLarge naming the Secret Service", n, err)
		}
	}
	if err := s.Set(ctx, "small", []byte("v")); err != nil {
		t.Fatalf("a small Set after the refused ones: %v", err)
	}
	if got, err := s.Get(ctx, "small"); err != nil || string(got) != "v" {
		t.Fatalf("a small Get after the refused ones = %q %v", got, err)
	}
	if _, err := s.Get(ctx, "big"); !errors.Is(err, tokens.ErrNotFound) {
		t.Fatalf("a refused value was written: %v", err)
	}
}
