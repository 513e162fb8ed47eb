package fleet

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/securecall/securecall/fleet/internal/redistest"
	"github.com/securecall/securecall/signer"
)

// setCalls returns how many SET and GET commands srv has served
// (INFO commandstats).
func setCalls(t *testing.T, c *redis.Client) (set, get int) {
	t.Helper()
	info, err := c.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	count := func(cmd string) int {
		i := strings.Index(info, "cmdstat_"+cmd+":calls=")
		if i < 0 {
			return 0
		}
		s := info[i+len("cmdstat_"+cmd+":calls="):]
		s = s[:strings.IndexByte(s, ',')]
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	return count("set"), count("get")
}

// Many copies of one signed request delivered at once to two replicas
// sharing a Redis: exactly one is accepted, every other one is a replay.
func TestNonceConcurrentReplayAcrossReplicas(t *testing.T) {
	srv := redistest.Start(t)
	s, v, _ := replicaPair(t, srv, NonceOptions{})
	req, _ := signed(t, s)
	const n = 32
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		r := httptest.NewRequest("GET", "https://api.example.com/v1/orders/7", nil)
		r.Header = req.Header.Clone()
		wg.Go(func() {
			<-start
			_, errs[i] = v[i%2].Verify(r, time.Now())
		})
	}
	close(start)
	wg.Wait()
	ok, replays := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, signer.ErrReplay):
			replays++
		default:
			t.Errorf("unexpected: %v", err)
		}
	}
	if ok != 1 || replays != n-1 {
		t.Fatalf("accepted %d, replays %d; want 1 and %d", ok, replays, n-1)
	}
}

// A signature refused before its nonce is claimed (stale, future, bad MAC,
// nonce too long) makes no Redis write, and a bad MAC does not burn the
// nonce of the genuine request.
func TestNonceRefusedSignatureTouchesNoRedis(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client()
	s, v, _ := replicaPair(t, srv, NonceOptions{})
	set0, get0 := setCalls(t, c)
	now := time.Now()
	for _, tc := range []struct {
		name string
		at   time.Time // the verifier's now
		mod  func(h http.Header)
		want error
	}{
		{"stale", now.Add(signer.DefaultMaxAge + signer.DefaultClockSkew + time.Second), nil, signer.ErrStale},
		{"future", now.Add(-signer.DefaultClockSkew - time.Second), nil, signer.ErrFuture},
		{"bad MAC", now, func(h http.Header) {
			sig := h.Get("Signature")
			i := strings.Index(sig, ":") + 1
			b := []byte(sig)
			if b[i] == 'A' {
				b[i] = 'B'
			} else {
				b[i] = 'A'
			}
			h.Set("Signature", string(b))
		}, signer.ErrInvalidSignature},
		{"long nonce", now, func(h http.Header) {
			in := h.Get("Signature-Input")
			i := strings.Index(in, `nonce="`) + len(`nonce="`)
			h.Set("Signature-Input", in[:i]+strings.Repeat("x", signer.MaxNonceLength+1)+in[i:])
		}, signer.ErrMalformed},
	} {
		req, genuine := signed(t, s)
		if tc.mod != nil {
			tc.mod(req.Header)
		}
		if _, err := v[0].Verify(req, tc.at); !errors.Is(err, tc.want) {
			t.Fatalf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if set, get := setCalls(t, c); set != set0 || get != get0 {
			t.Fatalf("%s: Redis SET %d→%d, GET %d→%d; want none", tc.name, set0, set, get0, get)
		}
		if tc.mod != nil {
			// The genuine request still goes through, on either replica.
			if _, err := v[1].Verify(genuine, time.Now()); err != nil {
				t.Fatalf("%s: genuine request after it: %v", tc.name, err)
			}
			set0, get0 = setCalls(t, c)
		}
	}
}

// The nonce key lives at least as long as the signature is acceptable,
// for custom MaxAge and ClockSkew and with expires.
func TestNonceKeyOutlivesWindowCustom(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client()
	ctx := context.Background()
	key, err := signer.NewHMACKey("client-1", testSecret)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		maxAge, skew, expires time.Duration
		margin                time.Duration
	}{
		{5 * time.Minute, 30 * time.Second, 0, 0},
		{5 * time.Minute, 30 * time.Second, time.Minute, -1},
		{10 * time.Second, time.Millisecond, 0, -1},
		{20 * time.Minute, 2 * time.Minute, time.Hour, 0},
	} {
		st, err := NewNonceStore(c, NonceOptions{Prefix: "w" + tc.maxAge.String() + tc.expires.String() + ":", ClockMargin: tc.margin, Timeout: patientTimeout})
		if err != nil {
			t.Fatal(err)
		}
		v, err := signer.NewVerifier(signer.VerifierOptions{Keys: signer.StaticKey(key), Nonces: st, MaxAge: tc.maxAge, ClockSkew: tc.skew})
		if err != nil {
			t.Fatal(err)
		}
		s, err := signer.New(signer.Options{Keys: signer.StaticKey(key), Expires: tc.expires})
		if err != nil {
			t.Fatal(err)
		}
		// created as far ahead as accepted: the longest window.
		created := time.Now().Truncate(time.Second)
		req := httptest.NewRequest("GET", "https://api.example.com/v1/orders/7", nil)
		if err := s.Sign(ctx, req, created); err != nil {
			t.Fatal(err)
		}
		now := created.Add(-tc.skew)
		if _, err := v.Verify(req, now); err != nil {
			t.Fatal(err)
		}
		// The last moment the verifier accepts it.
		last := created.Add(tc.maxAge + tc.skew)
		if tc.expires > 0 && created.Add(tc.expires+tc.skew).Before(last) {
			last = created.Add(tc.expires + tc.skew)
		}
		// Accepted at last (a fresh verifier on a fresh store shows it).
		v2, _ := signer.NewVerifier(signer.VerifierOptions{Keys: signer.StaticKey(key), MaxAge: tc.maxAge, ClockSkew: tc.skew})
		again := httptest.NewRequest("GET", "https://api.example.com/v1/orders/7", nil)
		again.Header = req.Header.Clone()
		if _, err := v2.Verify(again, last); err != nil {
			t.Fatalf("%+v: not accepted at its last moment: %v", tc, err)
		}
		keys, err := c.Keys(ctx, st.prefix+"nonce:*").Result()
		if err != nil || len(keys) != 1 {
			t.Fatalf("keys %v %v", keys, err)
		}
		pttl, err := c.PTTL(ctx, keys[0]).Result()
		if err != nil {
			t.Fatal(err)
		}
		// pttl counts from the SET, made at (real) time.Now() after now:
		// the key must last at least last - now from the SET on.
		if need := last.Sub(now); pttl < need-time.Second {
			t.Errorf("%+v: key life %v, window left %v", tc, pttl, need)
		}
	}
}

// Redis killed mid-run: the verifier refuses with a typed error, and the
// Middleware answers 503 with Retry-After under either error handler.
func TestNonceRedisDownTypedRefusal(t *testing.T) {
	srv := redistest.Start(t)
	s, v, _ := replicaPair(t, srv, NonceOptions{ProbeInterval: time.Hour})
	req, _ := signed(t, s)
	if _, err := v[0].Verify(req, time.Now()); err != nil {
		t.Fatal(err)
	}
	srv.Kill()
	req, _ = signed(t, s)
	_, err := v[0].Verify(req, time.Now())
	var ve *signer.VerifyError
	if !errors.As(err, &ve) || !errors.Is(err, ErrUnavailable) || !errors.Is(err, signer.ErrUnavailable) {
		t.Fatalf("down: %v", err)
	}
	for _, h := range []func(http.ResponseWriter, *http.Request, error){ErrorHandler, signer.DefaultErrorHandler} {
		rec := httptest.NewRecorder()
		h(rec, req, err)
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "1" {
			t.Fatalf("handler: %d %q", rec.Code, rec.Header().Get("Retry-After"))
		}
	}
}
