// Package redistest starts throwaway redis-server processes for tests: one
// per test, on a free loopback port, with persistence off (--save ""
// --appendonly no) and no config file, so nothing outside the test plays a
// part. A Server can be killed, paused and restarted on the same address to
// test what clients do while Redis is down or slow.
//
// When the redis-server binary is missing, Start fails the test if the
// environment variable CI is "true" (a skipped real-component test in CI
// is a failure) and skips it otherwise, with the reason.
package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Binary is the redis-server executable Start runs: found on PATH, else
// /usr/bin/redis-server.
const Binary = "redis-server"

// startTimeout bounds how long Start waits for a server to answer PING.
const startTimeout = 10 * time.Second

// Server is one redis-server process owned by a test.
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	addr string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// Start runs a redis-server on a free loopback port and waits until it
// answers PING. The server is killed when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath(Binary)
	if err != nil {
		if _, statErr := os.Stat("/usr/bin/redis-server"); statErr == nil {
			bin, err = "/usr/bin/redis-server", nil
		}
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("redistest: %s not found (CI=true: install the redis-server package): %v", Binary, err)
		}
		t.Skipf("redistest: %s not found; install the redis-server package to run this test", Binary)
	}
	s := &Server{t: t, bin: bin, dir: t.TempDir()}
	var lastErr error
	for range 5 {
		port, err := freePort()
		if err != nil {
			t.Fatalf("redistest: free port: %v", err)
		}
		s.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if lastErr = s.start(); lastErr == nil {
			t.Cleanup(s.Kill)
			return s
		}
	}
	t.Fatalf("redistest: redis-server did not start: %v", lastErr)
	return nil
}

// Addr returns the server's host:port. It stays the same across Restart.
func (s *Server) Addr() string { return s.addr }

// Client returns a new go-redis client for the server, closed when the
// test ends. Its dial, read and write timeouts are a minute, so that a
// loaded machine never turns a slow answer from a running server into an
// error (which a store would count as Redis being down); what a test of
// a hanging (paused) server waits for is the store's own Timeout, which
// reaches go-redis as the call's context deadline. A killed server
// refuses connections at once. Retries are off so that every call is one
// attempt.
func (s *Server) Client() *redis.Client {
	c := redis.NewClient(&redis.Options{
		Addr:         s.addr,
		DialTimeout:  time.Minute,
		ReadTimeout:  time.Minute,
		WriteTimeout: time.Minute,
		MaxRetries:   -1,
		// One dial per call: go-redis (v9.23) dials 5 times by default, 100 ms
		// apart, before a call fails, so a killed server took 400 ms or
		// more, the whole window of an outage test on a loaded machine,
		// to be noticed (TestQuotaRedisKilledFallsBackLocal granted
		// nothing and counted no error in CI); the tests expect a killed
		// server to refuse at once.
		DialerRetries: 1,
		// Context deadlines cut calls short (the fleet stores set one
		// on every call).
		ContextTimeoutEnabled: true,
		// Below every store's Timeout (DefaultTimeout at the least), as
		// the constructors require: a pool found busy fails with
		// ErrPoolExhausted, not at the store's deadline.
		PoolTimeout: 50 * time.Millisecond,
	})
	s.t.Cleanup(func() { _ = c.Close() })
	return c
}

// Kill stops the server with SIGKILL and waits for it to exit. It does
// nothing when the server is not running.
func (s *Server) Kill() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	// A stopped (paused) process dies on SIGKILL too.
	_ = cmd.Process.Kill()
	<-done
}

// Pause stops the server with SIGSTOP: it keeps its connections open but
// answers nothing, like a server that hangs. Resume undoes it.
func (s *Server) Pause() { s.signal(syscall.SIGSTOP) }

// Resume continues a paused server with SIGCONT.
func (s *Server) Resume() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig syscall.Signal) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		s.t.Fatalf("redistest: signal %v: server not running", sig)
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("redistest: signal %v: %v", sig, err)
	}
}

// Restart starts a new, empty server on the same address after Kill (it
// kills the running one first). Data does not survive: persistence is off.
func (s *Server) Restart() {
	s.t.Helper()
	s.Kill()
	var err error
	// The port was ours a moment ago; another process may grab it in
	// between, which is reported rather than retried on another port
	// (clients hold this address).
	deadline := time.Now().Add(startTimeout)
	for {
		if err = s.start(); err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("redistest: restart on %s: %v", s.addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// start runs redis-server on s.addr and waits until it answers PING.
func (s *Server) start() error {
	host, port, _ := net.SplitHostPort(s.addr)
	logf, err := os.OpenFile(filepath.Join(s.dir, "redis.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(s.bin,
		"--bind", host, "--port", port,
		"--save", "", "--appendonly", "no",
		"--dir", s.dir, "--daemonize", "no",
		"--protected-mode", "yes", "--loglevel", "warning")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("redistest: start %s: %w", s.bin, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()

	c := redis.NewClient(&redis.Options{Addr: s.addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer c.Close()
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-done:
			log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
			return fmt.Errorf("redistest: redis-server exited at start (port taken?): %s", tail(log))
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			s.mu.Lock()
			s.cmd, s.done = cmd, done
			s.mu.Unlock()
			return nil
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			return errors.Join(errors.New("redistest: redis-server did not answer PING"), err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(b []byte) string {
	const n = 400
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
