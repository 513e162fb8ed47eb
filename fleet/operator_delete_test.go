package fleet

import (
	"context"
	"testing"
	"time"

	"github.com/securecall/securecall/fleet/internal/redistest"
)

// TestCooldownStoreOperatorDeleteTakes: an operator deletes a host's
// cooldown key to put the host back into service. Neither the replica that
// set the cooldown nor one that read it writes it back, and both stop
// reporting it once they have read Redis again.
func TestCooldownStoreOperatorDeleteTakes(t *testing.T) {
	srv := redistest.Start(t)
	opts := CooldownOptions{RefreshInterval: time.Nanosecond}
	a, b := newCooldowns(t, srv, opts), newCooldowns(t, srv, opts)
	const host = "api.example.com"
	key := DefaultPrefix + "cooldown:" + host
	a.SetCooldown(host, time.Now().Add(time.Minute))
	if b.CooldownUntil(host).IsZero() {
		t.Fatal("B did not read A's cooldown")
	}
	if n, err := srv.Client().Del(context.Background(), key).Result(); err != nil || n != 1 {
		t.Fatalf("DEL: %d, %v", n, err)
	}
	for range 20 {
		a.CooldownUntil(host)
		b.CooldownUntil(host)
		settleCooldowns(t, a)
		settleCooldowns(t, b)
	}
	if n, _ := srv.Client().Exists(context.Background(), key).Result(); n != 0 {
		t.Fatal("a replica wrote the deleted cooldown back")
	}
	if got := a.CooldownUntil(host); !got.IsZero() {
		t.Errorf("A still reports the deleted cooldown: %v", got)
	}
	if got := b.CooldownUntil(host); !got.IsZero() {
		t.Errorf("B still reports the deleted cooldown: %v", got)
	}
}

// TestBreakerStoreOperatorDeleteTakes: the same for a breaker's shared
// open state.
func TestBreakerStoreOperatorDeleteTakes(t *testing.T) {
	srv := redistest.Start(t)
	opts := BreakerOptions{RefreshInterval: time.Nanosecond}
	a, b := newBreakers(t, srv, opts), newBreakers(t, srv, opts)
	const host = "api.example.com"
	key := DefaultPrefix + "breaker:" + host
	a.SetOpenUntil(host, time.Now().Add(time.Minute))
	settle(t, a)
	eventually(t, "B reads A's opening", func() bool {
		defer settle(t, b)
		return b.OpenUntil(host).After(time.Now())
	})
	if n, err := srv.Client().Del(context.Background(), key).Result(); err != nil || n != 1 {
		t.Fatalf("DEL: %d, %v", n, err)
	}
	for range 20 {
		a.OpenUntil(host)
		b.OpenUntil(host)
		settle(t, a)
		settle(t, b)
	}
	if n, _ := srv.Client().Exists(context.Background(), key).Result(); n != 0 {
		t.Fatal("a replica wrote the deleted open state back")
	}
	if got := a.OpenUntil(host); !got.IsZero() {
		t.Errorf("A still reports the deleted open state: %v", got)
	}
	if got := b.OpenUntil(host); !got.IsZero() {
		t.Errorf("B still reports the deleted open state: %v", got)
	}
	// A later opening by B, shorter than A's deleted one, reaches A: A
	// does not take it for the read-back of its own old write.
	b.SetOpenUntil(host, time.Now().Add(30*time.Second))
	settle(t, b)
	eventually(t, "A sees B's new opening", func() bool {
		defer settle(t, a)
		return a.OpenUntil(host).After(time.Now())
	})
}
