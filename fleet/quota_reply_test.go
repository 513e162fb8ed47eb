package fleet

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// respServer is a Redis-compatible server (as a proxy or another
// implementation may be) that answers every script call with reply, a
// raw RESP2 value, and the connection set-up with what go-redis accepts.
func respServer(t *testing.T, reply string) *redis.Client {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				r := bufio.NewReader(conn)
				for {
					cmd, err := readRESPCommand(r)
					if err != nil {
						return
					}
					var out string
					switch strings.ToUpper(cmd) {
					case "HELLO":
						out = "-ERR unknown command 'HELLO'\r\n"
					case "PING":
						out = "+PONG\r\n"
					case "EVALSHA", "EVAL":
						out = reply
					default:
						out = "+OK\r\n"
					}
					if _, err := io.WriteString(conn, out); err != nil {
						return
					}
				}
			}()
		}
	}()
	c := redis.NewClient(&redis.Options{Addr: ln.Addr().String(), ContextTimeoutEnabled: true,
		MaxRetries: -1, Protocol: 2, DisableIdentity: true})
	t.Cleanup(func() { c.Close() })
	return c
}

// readRESPCommand reads one command (an array of bulk strings) and
// returns its name.
func readRESPCommand(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(line, "*") {
		return "", errors.New("not an array")
	}
	n, err := strconv.Atoi(strings.TrimSpace(line[1:]))
	if err != nil {
		return "", err
	}
	var name string
	for i := range n {
		hdr, err := r.ReadString('\n')
		if err != nil {
			return "", err
		}
		size, err := strconv.Atoi(strings.TrimSpace(hdr[1:]))
		if err != nil {
			return "", err
		}
		buf := make([]byte, size+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		if i == 0 {
			name = string(buf[:size])
		}
	}
	return name, nil
}

// TestQuotaUnexpectedScriptReply: a server that answers the quota's GCRA
// script with other types than Redis does (redis_rate asserts them
// unchecked) or with more tokens than asked neither crashes the process
// from the lease goroutine nor grants more than the lease asked for: the
// first is a failed Redis call (the Policy applies), the second is capped.
func TestQuotaUnexpectedScriptReply(t *testing.T) {
	t.Run("types", func(t *testing.T) {
		// Integers where redis_rate expects strings.
		c := respServer(t, "*4\r\n:5\r\n:0\r\n:-1\r\n:0\r\n")
		q := newQuota(t, c, QuotaOptions{Limit: QuotaLimit{Rate: 100}, Policy: FailClosed})
		_, err := q.TakeQuota(context.Background(), "api.example.com")
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("TakeQuota = %v, want ErrUnavailable", err)
		}
		if s := q.Stats(); s.RedisErrors != 1 || !s.Degraded {
			t.Fatalf("stats %+v, want 1 error, degraded", s)
		}
	})
	t.Run("not an array", func(t *testing.T) {
		c := respServer(t, ":1\r\n")
		q := newQuota(t, c, QuotaOptions{Limit: QuotaLimit{Rate: 100}, Policy: FailClosed})
		if _, err := q.TakeQuota(context.Background(), "api.example.com"); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("TakeQuota = %v, want ErrUnavailable", err)
		}
	})
	t.Run("more than asked", func(t *testing.T) {
		c := respServer(t, "*4\r\n:1000000\r\n:0\r\n$2\r\n-1\r\n$1\r\n0\r\n")
		q := newQuota(t, c, QuotaOptions{Limit: QuotaLimit{Rate: 100}, Policy: FailClosed})
		for range 100 {
			if _, err := q.TakeQuota(context.Background(), "api.example.com"); err != nil {
				t.Fatal(err)
			}
		}
		// A lease asks for at most Burst / 4 = 25 tokens.
		if leases, leased, _ := q.leaseStats("api.example.com"); leases == 0 || leased > leases*25 {
			t.Fatalf("%d leases granted %d tokens: more than asked", leases, leased)
		}
	})
}
