package transport

import (
	"context"
	"testing"
	"time"
)

// attemptFromWalk is AttemptFrom as it was before its fast path: the
// context's Value walk alone.
func attemptFromWalk(ctx context.Context) (*Attempt, bool) {
	a, ok := ctx.Value(attemptKey{}).(*Attempt)
	return a, ok
}

// TestAttemptFromFastPathAgrees: AttemptFrom answers for the attempt's own
// context and its deadline without a Value walk; for every context kind of
// this package (and others) its answer is the walk's.
func TestAttemptFromFastPathAgrees(t *testing.T) {
	bg := context.Background()
	own := &attemptCtx{Context: bg}
	cp := &attemptCopy{attemptCtx: attemptCtx{Context: bg}}
	withA := &attemptDeadline{a: &own.a}
	withA.init(own, time.Now().Add(time.Hour))
	unset := &attemptDeadline{}
	unset.init(own, time.Now().Add(time.Hour))
	det := own.a.detach(bg)
	inner := context.WithValue(own, struct{ k int }{1}, 2)
	cases := map[string]context.Context{
		"background":            bg,
		"attempt":               own,
		"attempt copy":          cp,
		"copy's own context":    &cp.attemptCtx,
		"deadline with attempt": withA,
		"deadline unset":        unset,
		"detached":              det,
		"value over attempt":    inner,
		"scope":                 &callScope{Context: bg},
	}
	for name, ctx := range cases {
		a, ok := AttemptFrom(ctx)
		wa, wok := attemptFromWalk(ctx)
		if a != wa || ok != wok {
			t.Errorf("%s: AttemptFrom = (%p, %v), Value walk = (%p, %v)", name, a, ok, wa, wok)
		}
	}
}
