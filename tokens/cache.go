package tokens

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"

	"github.com/securecall/securecall/internal/ascii"
	"github.com/securecall/securecall/internal/httpdate"
)

// Defaults of a Cache.
const (
	// DefaultEarlyRefresh is how long before a token's (margin-adjusted)
	// expiry the Cache starts one background refresh while it keeps serving
	// the current token. It is capped at half the token's lifetime, so a
	// token that lives 2 s is refreshed after about 1 s.
	DefaultEarlyRefresh = time.Minute
	// DefaultExpiryMargin is how long before its Expiry a token stops being
	// served at all (clock skew between us and the server, time in flight).
	// It is capped at a tenth of the token's lifetime.
	DefaultExpiryMargin = 10 * time.Second
	// DefaultJitter is the fraction of the early-refresh window (and of
	// each backoff step) that is randomised, so a fleet of clients that
	// got their tokens at the same moment does not refresh in lock step.
	DefaultJitter = 0.25
	// DefaultRefreshTimeout bounds one refresh. The refresh runs on a
	// context detached from the callers' cancellation, so this timeout is
	// what stops it.
	DefaultRefreshTimeout = 30 * time.Second
	// DefaultMinBackoff is the wait after the first failed refresh; each
	// further consecutive failure doubles it, up to DefaultMaxBackoff.
	DefaultMinBackoff = time.Second
	// DefaultMaxBackoff caps the wait between failed refreshes.
	DefaultMaxBackoff = time.Minute
)

// minDuration is the shortest refresh timeout, backoff step and store read
// timeout (CachedStore) accepted: nothing they bound (a token request, a
// keyring call) finishes sooner, so a shorter one is a mistake (a unit
// left out) that would fail every refresh or read, or ask a failing
// source again at once.
const minDuration = time.Millisecond

// The Cache keeps each deadline twice: as a monotonic duration since epoch,
// which a step of the wall clock (NTP, an operator) cannot move, and as a
// wall-clock instant (Unix nanoseconds), which keeps counting while the
// machine is suspended or the VM paused, when the monotonic clock stops: a
// token is served only while both say it is fresh. Both come from one
// time.Now reading.
var epoch = time.Now()

// mono returns the monotonic time since epoch. (Inside a testing/synctest
// bubble it follows the bubble's fake clock; values are only ever compared
// with values from the same bubble.)
func mono() time.Duration { return time.Since(epoch) }

// clock reads the time once: the monotonic time since epoch and the wall
// clock in Unix nanoseconds.
func (c *Cache) clock() (time.Duration, int64) {
	t := time.Now()
	return t.Sub(epoch), t.UnixNano() + c.wallAhead.Load()
}

// addWall returns w+d, saturating at the largest instant.
func addWall(w int64, d time.Duration) int64 {
	if w > 0 && int64(d) > math.MaxInt64-w {
		return math.MaxInt64
	}
	return w + int64(d)
}

const (
	never   = time.Duration(math.MaxInt64) // deadline of a token without expiry
	anyTime = math.MinInt64                // nextTry and nextTryWall when no backoff is pending

	// maxLife caps a token's remaining lifetime in the Cache's deadline
	// arithmetic, far enough from the largest Duration that adding it to
	// mono() cannot overflow.
	maxLife = 100 * 365 * 24 * time.Hour
)

// CacheOption configures NewCache.
type CacheOption interface{ applyCache(*cacheConfig) }

type cacheOptionFunc func(*cacheConfig)

func (f cacheOptionFunc) applyCache(c *cacheConfig) { f(c) }

type cacheConfig struct {
	early      time.Duration
	margin     time.Duration
	jitter     float64
	timeout    time.Duration
	minBackoff time.Duration
	maxBackoff time.Duration
	store      Store
	storeKey   string
	onError    func(error)
}

// WithEarlyRefresh sets how long before expiry the background refresh
// starts (capped at half the token's lifetime). Zero disables early refresh:
// the token is then refreshed only once it has expired, and callers wait for
// that refresh. Default DefaultEarlyRefresh.
func WithEarlyRefresh(d time.Duration) CacheOption {
	return cacheOptionFunc(func(c *cacheConfig) { c.early = d })
}

// WithExpiryMargin sets how long before its Expiry a token stops being
// served (capped at a tenth of its lifetime). Zero serves a token until its
// exact Expiry. Default DefaultExpiryMargin.
func WithExpiryMargin(d time.Duration) CacheOption {
	return cacheOptionFunc(func(c *cacheConfig) { c.margin = d })
}

// WithJitter sets the randomised fraction (0 to 1) of the early-refresh
// window and of each backoff step. Zero makes both deterministic. Default
// DefaultJitter.
func WithJitter(frac float64) CacheOption {
	return cacheOptionFunc(func(c *cacheConfig) { c.jitter = frac })
}

// WithRefreshTimeout bounds each refresh. Under a millisecond (no token
// request finishes in it) is a *ConfigError. Default DefaultRefreshTimeout.
func WithRefreshTimeout(d time.Duration) CacheOption {
	return cacheOptionFunc(func(c *cacheConfig) { c.timeout = d })
}

// WithBackoff sets the wait after a failed refresh: min after the first
// failure, doubling per consecutive failure up to max. A step beyond a
// century (a max of math.MaxInt64 for "no cap") counts as a century. A
// min under a millisecond (a failing source asked again at once, a storm
// on the token endpoint), or a max under min, is a *ConfigError.
// Defaults DefaultMinBackoff and DefaultMaxBackoff.
func WithBackoff(min, max time.Duration) CacheOption {
	return cacheOptionFunc(func(c *cacheConfig) { c.minBackoff, c.maxBackoff = min, max })
}

// WithPersistence keeps the cached token in s under key: every new token is
// written there (a refresh that hands back the token the store already
// holds, a source that keeps its token until it expires, writes nothing;
// one whose write failed is written again), and the first refresh of a new Cache reads it back and
// uses it, without asking the source, while it is still valid. A restarted
// service thus reuses its token instead of asking the token endpoint again.
// A ClientCredentials' or Refresher's token is written with a digest of
// what it was asked with (token URL, client id, scopes and endpoint
// parameters; the Refresher's refresh token key and the refresh token it
// was issued with, a rotated one included), and one read back with
// another digest (a deploy changed the scopes or the audience; the
// Refresher's store holds another refresh token, re-provisioned or
// rotated by another process; a token persisted before session 22, or a
// Refresher's before session 23) is not used, as if none were stored: the
// source is asked, and its token replaces it. Over a Refresher, the first
// refresh reads the refresh token from its store for that check; when the
// read fails, the persisted token is not used. Any other source's token
// (FromOAuth2, whose oauth2.TokenSource exposes no configuration, a
// SourceFunc, StoreSource, a Source of the caller's) is written without a
// digest and read back whatever changed: name the configuration in key
// (a hash of the scopes and audience in it), or delete key when the
// configuration changes.
// After Invalidate, the next refresh overwrites the persisted token with its
// new one, or deletes it when it fails, so a restart does not load a token
// a server rejected (a failed overwrite or delete is made good by the
// refresh after: every refresh overwrites or deletes the rejected token
// until one such write succeeds; a write that stored the new token but
// reported an old copy beside it, a *ChainError with Op "set" or an error
// matching ErrStaleCopy, counts as one, and is reported).
// Each write has a timeout of its own, WithRefreshTimeout long. Write
// failures are reported to the error handler (WithErrorHandler) and do not
// fail the refresh; so is a persisted token that cannot be read back (not
// valid JSON, or no value: an error naming the key, never the stored
// bytes, matching ErrNoToken), and the source is asked instead. A token
// read back passes the checks a fetched one does, or is such a failure
// too (matching ErrNoToken and the check's error): a token of another
// type than Bearer when the source issues Bearer tokens only
// (ClientCredentials, Refresher, FromOAuth2), ErrUnsupportedTokenType; a
// Bearer value a bearer header cannot carry (space, comma, quote,
// control or non-ASCII character), a type that is no RFC 9110 token, or
// any value with a control character (a CR/LF would fail every request
// until the token expired), ErrMalformedToken. The store
// is called on the refreshing goroutine: a panic in it is such a failure,
// a *StoreError naming the panic value's type (never its text).
// Over a Refresher, key must not be the one the Refresher keeps its
// refresh token under in the same store (s itself, or a CachedStore or
// Chain reaching it, a FileStore over its directory by any path to it, a
// symlink too, a keyring Store of its service; in a FileStore, a key
// differing from it only in case, which names the same file on macOS and
// Windows): the access token would overwrite the refresh token, and
// the Refresher's next refresh would send it and lose the grant. NewCache
// refuses it with a *ConfigError naming WithPersistence, and so a key
// StoreSource reads (the API key would be overwritten); a FromStore
// secret read under key fails its token request instead (see FromStore).
// A store no write can reach (an EnvStore, or a CachedStore or a Chain's
// primary backend over one) is refused the same way: the token would
// never be kept. Default: no persistence.
func WithPersistence(s Store, key string) CacheOption {
	return cacheOptionFunc(func(c *cacheConfig) { c.store, c.storeKey = s, key })
}

// WithErrorHandler sets a function called (on the refreshing goroutine,
// one call at a time) with every failed refresh, including background
// refreshes no caller waits for, and with persistence failures. It must
// not block, nor call the Cache's Token: it may run while the refresh it
// reports on is still in progress (a persisted token that cannot be read
// back), and Token would wait for that refresh, which waits for the
// handler. A panic in it is recovered and logged (slog's default logger,
// naming its type only; no caller's recover reaches the refreshing
// goroutine). Default: none.
func WithErrorHandler(f func(error)) CacheOption {
	return cacheOptionFunc(func(c *cacheConfig) { c.onError = f })
}

// Cache is a Source that caches the token of another Source and refreshes
// it ahead of expiry. It is safe for concurrent use and implements
// Invalidator.
//
// The hot path, a cached token that is still fresh, is one atomic load and
// one time.Now: no lock, no allocation, and parallel callers never wait
// for each other.
//
// Expiry is measured on both clocks of that reading: a token is served only
// while the monotonic clock (which a step of the wall clock cannot move)
// and the wall clock (which keeps counting while the machine is suspended
// or the VM paused, when the monotonic clock stops) both say it is fresh,
// and its early refresh starts when either says it is due. A token that
// expired during a suspend is thus not served after the resume. A backoff
// step (below) is over when either clock says it is: one that a suspend
// outlasted does not hold the refresh after the resume.
//
// Refresh rules:
//
//   - One refresh at a time (single flight), however many callers need it.
//   - In the early-refresh window before expiry (WithEarlyRefresh, with
//     jitter), callers keep getting the current token while one background
//     refresh runs. A refresh that hands back the cached token itself (same
//     value and expiry: a source with a cache of its own) made no
//     progress: the next early refresh waits a backoff step (WithBackoff,
//     doubling with each such answer, reset by a new token), but not past
//     the token's expiry (less the margin). It is not a failed refresh.
//   - The refresh runs on a context detached from the caller that started
//     it (its values are kept, its cancellation is not) and bounded by
//     WithRefreshTimeout. A caller whose context ends stops waiting and gets
//     its context's error; the refresh goes on for the others. A source
//     call still running when the timeout ends its refresh is left behind;
//     later refreshes wait for it rather than call the source beside it.
//   - A source's error is kept as it is (errors.Is and errors.As reach
//     it), except that the token endpoint's answer that an
//     *oauth2.RetrieveError in it quotes (a source built on x/oauth2
//     without FromOAuth2; the body may echo credentials) is replaced in
//     its message with what a *TokenError says: error code, HTTP status,
//     and the query values of a *url.Error in it (net/http's, quoting
//     the token URL, where a credential may be) are redacted, as
//     RedactSourceError says (a wrapper type of the source's own above
//     that *url.Error is then found by errors.As no more, as in
//     client.New).
//   - A source that panics fails the refresh with an error matching
//     ErrNoToken (naming the panic value's type, not its text), which
//     backs off as any failure: the source runs on the Cache's goroutine,
//     where no caller's recover could stop the panic ending the process.
//   - A failed refresh backs off (WithBackoff): until the backoff step is
//     over, no caller starts another refresh. When the token endpoint's
//     answer carried Retry-After (an *oauth2.RetrieveError's response: a
//     429 or 503 shedding load), the step lasts at least that long, capped
//     at the maximum backoff. Callers keep getting the
//     current token while it is valid; once it has expired they get a
//     *RefreshError matching ErrBackoff at once, without a token request.
//   - Invalidate(t) drops t only if it is still the cached token. With
//     WithPersistence, the persisted copy goes too: the next refresh
//     overwrites it, or deletes it when it fails, so a restarted service
//     does not load a token a server rejected.
//   - A refresh after Invalidate(t) that hands back t itself (a source with
//     a cache of its own, such as an IdP or metadata service that returns
//     the same token for its lifetime, or a static key) counts as a failed
//     refresh matching ErrTokenRejected (reported to the error handler) and
//     backs off, but t stays served: the 401 may have been one resource's
//     or the server's passing fault, and the requests the server accepts
//     must not fail. Until the backoff step is over, Invalidate(t) keeps t
//     and no token request is made, so a server that keeps rejecting t
//     costs no token request per call. Each further handing back doubles
//     the step; only a token other than t resets the count.
//   - A server that rejects every token (a wrong audience, a hostile host
//     in scope) costs no token request per call either: when a token that
//     replaced a rejected one is rejected in turn within twice the maximum
//     backoff of its arrival, it is dropped once, and the token that
//     replaces it is kept for a backoff step (WithBackoff, doubling with
//     each such rejection): Invalidate keeps it and reports false, and
//     its 401s are returned as is. A token published by a refresh that
//     replaced none (an expiry refresh), or one rejected after a longer
//     life, resets the count. A first rejection is always honoured at once.
//     Both the hold and "soon" are measured on both clocks, as a backoff
//     step is: a hold is over when either says so, and a token that lived
//     through a suspend longer than the window was not rejected soon.
//   - Close cancels the running refresh (its token request and the
//     goroutines serving it end at once instead of at the refresh timeout;
//     a source that ignores its context is left to return), and no refresh
//     starts after it. The callers waiting for that refresh, and every
//     Token call after Close that would need one (no token yet, an expired
//     or invalidated one), get ErrClosed at once; a token still fresh at
//     Close is served until it expires, so that calls in flight at Close
//     complete. Nothing is persisted or reported after Close: a write to
//     the store (WithPersistence) in progress at Close is cancelled, as the
//     refresh is (a store that does not answer would otherwise keep its
//     goroutine for the refresh timeout), and one queued behind it is not
//     made.
type Cache struct {
	src Source
	cfg cacheConfig
	// persistFor is what the persisted token says it was issued for: the
	// source's identified digest, or "".
	persistFor string

	cur     atomic.Pointer[entry]
	flying  atomic.Bool  // a refresh is running
	nextTry atomic.Int64 // mono() before which no refresh may start (backoff), or anyTime
	// nextTryWall is the same deadline on the wall clock (Unix ns), or
	// anyTime: a backoff step is over when either clock says so (the
	// monotonic one stops while the machine is suspended).
	nextTryWall atomic.Int64

	mu       sync.Mutex
	fl       *flight // the running refresh, or nil
	failures int     // consecutive failed refreshes
	lastErr  error   // error of the last failed refresh
	loaded   bool    // the persisted token was read (only the running refresh touches it)
	closed   bool    // Close was called: no refresh starts

	// rejected is the token Invalidate last dropped, until a refresh
	// publishes another one. staleStored: the persisted copy may be an
	// invalidated token that the next refresh must overwrite or delete; it
	// is cleared only once such a write has succeeded, so a failed or
	// timed-out write leaves the fix to the refresh after.
	// invalidations counts the Invalidate calls that set it: a write clears
	// it only if no Invalidate came after the write's refresh published.
	// (All guarded by mu.)
	rejected      Token
	staleStored   bool
	invalidations uint64

	// rejectStreak counts the tokens that replaced a rejected one and were
	// rejected in turn soon after (a resource server that rejects every
	// token); until holdUntil (mono()) and holdUntilWall (the wall clock,
	// Unix ns) both say the hold is over, such a token is kept, not
	// dropped: a suspend the monotonic clock does not count ends it, as
	// it ends a backoff step. A token published by a refresh that
	// replaced none resets the count. (All guarded by mu.)
	rejectStreak  int
	holdUntil     time.Duration
	holdUntilWall int64

	// sameStreak counts the refreshes in a row that handed back the
	// cached token itself (same value, same expiry): each delays the next
	// early refresh by a backoff step (guarded by mu).
	sameStreak int

	// stored is the token the store holds as far as the Cache knows: the
	// one its last successful write put there, or the one read back from
	// it; zero when unknown (a failed write, a delete). A refresh that
	// hands back that token itself does not write it again (guarded by
	// mu).
	stored Token

	published uint64        // refreshes that have published a token (guarded by mu)
	saveSem   chan struct{} // held while writing to the store: orders the writes
	saved     uint64        // the refresh whose token the store holds (guarded by saveSem)
	srcSem    chan struct{} // held while the source runs, even after its refresh gave up on it
	reportSem chan struct{} // held while calling the error handler: one call at a time

	// shut is cancelled (cause ErrClosed) by Close: it ends the writes to
	// the store, which run past their refresh (see run).
	shut     context.Context
	shutDown context.CancelCauseFunc

	// wallAhead is a test hook: how far the wall clock is ahead of the
	// monotonic one (a suspend that long). Always zero outside tests.
	wallAhead atomic.Int64
}

type entry struct {
	tok       Token
	refreshAt time.Duration // mono(): background refresh starts at or after this
	expireAt  time.Duration // mono(): the token is not served at or after this
	// The same deadlines on the wall clock (Unix ns), which keeps counting
	// through a suspend or VM pause.
	wallRefreshAt int64
	wallExpireAt  int64

	// afterReject: the token replaced one that Invalidate dropped;
	// publishedAt is when (mono()), publishedWall the same instant on the
	// wall clock (Unix ns). Set before the entry is published.
	afterReject   bool
	publishedAt   time.Duration
	publishedWall int64
}

// fresh reports whether e may be served at the clock reading (m, w).
func (e *entry) fresh(m time.Duration, w int64) bool {
	return m < e.expireAt && w < e.wallExpireAt
}

// due reports whether e needs a refresh at the clock reading (m, w).
func (e *entry) due(m time.Duration, w int64) bool {
	return m >= e.refreshAt || w >= e.wallRefreshAt
}

type flight struct {
	done chan struct{}
	tok  Token
	err  error
	stop context.CancelCauseFunc // cancels the refresh's context (Close)
}

// NewCache returns a Cache over src. It makes no token request until the
// first call to Token.
func NewCache(src Source, opts ...CacheOption) (*Cache, error) {
	cfg := cacheConfig{
		early:      DefaultEarlyRefresh,
		margin:     DefaultExpiryMargin,
		jitter:     DefaultJitter,
		timeout:    DefaultRefreshTimeout,
		minBackoff: DefaultMinBackoff,
		maxBackoff: DefaultMaxBackoff,
	}
	for _, o := range opts {
		if o != nil {
			o.applyCache(&cfg)
		}
	}
	switch {
	case src == nil:
		return nil, configErr("Source", "nil source")
	case unusable("Source", src) != nil:
		return nil, unusable("Source", src)
	case storeSourceUnusable(src) != nil:
		return nil, storeSourceUnusable(src)
	case cfg.early < 0:
		return nil, configErr("WithEarlyRefresh", "negative duration %v", cfg.early)
	case cfg.margin < 0:
		return nil, configErr("WithExpiryMargin", "negative duration %v", cfg.margin)
	case !(cfg.jitter >= 0 && cfg.jitter <= 1):
		return nil, configErr("WithJitter", "fraction %v outside [0, 1]", cfg.jitter)
	case cfg.timeout < minDuration:
		return nil, configErr("WithRefreshTimeout", "need at least %v, got %v", minDuration, cfg.timeout)
	case cfg.minBackoff < minDuration || cfg.maxBackoff < cfg.minBackoff:
		return nil, configErr("WithBackoff", "need %v <= min <= max, got min %v max %v", minDuration, cfg.minBackoff, cfg.maxBackoff)
	}
	if cfg.store != nil || cfg.storeKey != "" {
		if cfg.store == nil {
			return nil, configErr("WithPersistence", "nil store")
		}
		if err := unusable("WithPersistence", cfg.store); err != nil {
			return nil, err
		}
		if err := ValidateKey(cfg.storeKey); err != nil {
			return nil, &ConfigError{Option: "WithPersistence", Err: err}
		}
		if readOnly(cfg.store) {
			// Every write would fail (ErrReadOnly), and without an error
			// handler nobody would hear of it: the token is never kept.
			return nil, configErr("WithPersistence", "the store writes to an EnvStore (itself, behind a CachedStore, or as a Chain's primary), which is read-only: no token could ever be written; persist to a FileStore, a keyring or a Chain whose primary backend takes writes")
		}
		if r, ok := src.(*Refresher); ok && r.sem != nil && mayShareKey(cfg.store, cfg.storeKey, r.store, r.key) {
			// The access token's JSON would overwrite the refresh token:
			// the Refresher's next read takes it for a rotated refresh
			// token, and the grant is lost (invalid_grant).
			return nil, configErr("WithPersistence", "key %q is the Refresher's refresh token key %q in the same store (keys differing only in case name one secret in a FileStore on macOS and Windows and in a keyring on Windows); persist the access token under another key", cfg.storeKey, r.key)
		}
		if ss, ok := src.(storeSource); ok && mayShareKey(cfg.store, cfg.storeKey, ss.s, ss.key) {
			// The token's JSON would overwrite the secret the source
			// reads, and the next read would send the JSON.
			return nil, configErr("WithPersistence", "key %q is the key %q StoreSource reads in the same store (keys differing only in case name one secret in a FileStore on macOS and Windows and in a keyring on Windows); persist the token under another key", cfg.storeKey, ss.key)
		}
	}
	// A century is as good as no cap ("max" given as the largest
	// Duration), and keeps the backoff arithmetic (mono()+step, twice the
	// max, doubling) from overflowing into the past.
	cfg.minBackoff, cfg.maxBackoff = min(cfg.minBackoff, maxLife), min(cfg.maxBackoff, maxLife)
	c := &Cache{src: src, cfg: cfg, saveSem: make(chan struct{}, 1), srcSem: make(chan struct{}, 1), reportSem: make(chan struct{}, 1)}
	if id, ok := src.(identified); ok && cfg.store != nil {
		c.persistFor = id.persistFor()
	}
	c.shut, c.shutDown = context.WithCancelCause(context.Background())
	c.nextTry.Store(anyTime)
	c.nextTryWall.Store(anyTime)
	return c, nil
}

// Token returns the cached token while it is fresh, starting a background
// refresh when it is in its early-refresh window, and otherwise waits for
// the (single) refresh. See Cache for the rules.
//
// A zero Cache (not made by NewCache) has no source: Token returns a
// *ConfigError, CachedToken reports false and Invalidate does nothing.
func (c *Cache) Token(ctx context.Context) (Token, error) {
	if c.srcSem == nil {
		return Token{}, zeroErr(c)
	}
	if tok, ok := c.CachedToken(ctx); ok {
		return tok, nil
	}
	return c.slow(ctx)
}

// CachedToken returns the cached token when it can be used now without
// waiting, as Token's fast path would (in the early-refresh window it
// starts the background refresh, as Token does), and false when Token
// would have to fetch or wait for one. It lets a caller tell a call that
// answered from the cache from one that may have blocked.
func (c *Cache) CachedToken(ctx context.Context) (Token, bool) {
	if e := c.cur.Load(); e != nil {
		now, wall := c.clock()
		return c.cachedAt(ctx, e, now, wall)
	}
	return Token{}, false
}

// CachedTokenAt is CachedToken with the clock reading given: t must be a
// time.Now reading (with its monotonic part) the caller took just before,
// such as the one an HTTP attempt shares among its layers, so that the
// fast path reads no clock. A t without a monotonic reading (one that went
// through Round(0), or was built with time.Unix) is not used: the clock is
// read instead.
func (c *Cache) CachedTokenAt(ctx context.Context, t time.Time) (Token, bool) {
	if e := c.cur.Load(); e != nil {
		if t == t.Round(0) { // Round(0) strips only the monotonic reading: t had none
			now, wall := c.clock()
			return c.cachedAt(ctx, e, now, wall)
		}
		return c.cachedAt(ctx, e, t.Sub(epoch), t.UnixNano()+c.wallAhead.Load())
	}
	return Token{}, false
}

// cachedAt is CachedToken's answer for the entry e at the clock reading
// (now, wall).
func (c *Cache) cachedAt(ctx context.Context, e *entry, now time.Duration, wall int64) (Token, bool) {
	if !e.due(now, wall) {
		return e.tok, true
	}
	if e.fresh(now, wall) {
		c.kick(ctx, now, wall)
		return e.tok, true
	}
	return Token{}, false
}

// Invalidate drops t if it is the cached token and reports whether it did.
// A different (newer) cached token is kept, and so is a t that the source
// handed back after the last Invalidate(t) while that refresh's backoff
// step lasts, and a t that replaced a token rejected in turn soon after
// its own predecessor while the step of that streak lasts (see Cache). The next Token call refreshes, unless a failed
// refresh is still backing off.
func (c *Cache) Invalidate(t Token) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.cur.Load()
	if e == nil || !e.tok.Equal(t) {
		return false
	}
	now, wall := c.clock()
	if t.Equal(c.rejected) && c.backingOff(now, wall) {
		// Handed back by the source after a rejection: asking it again
		// before the step is over would get t again.
		return false
	}
	soon := 2 * c.cfg.maxBackoff
	if e.afterReject && now-e.publishedAt < soon && wall-e.publishedWall < int64(soon) {
		// t replaced a rejected token and is rejected in turn, soon
		// after (on both clocks: a token that lived through a suspend
		// was not rejected soon): the server may reject every token (a
		// wrong audience, a hostile host in scope). Dropping it at once
		// on each 401 would cost a token request per call: t is kept
		// for a backoff step, doubling with each such rejection, until
		// either clock says the step is over.
		if c.rejectStreak > 0 && now < c.holdUntil && wall < c.holdUntilWall {
			return false
		}
		c.rejectStreak++
		step := c.backoff(c.rejectStreak)
		c.holdUntil, c.holdUntilWall = now+step, addWall(wall, step)
	} else {
		c.rejectStreak = 0 // t was accepted for a while, or is the first one rejected
	}
	// Every store to cur happens under mu.
	c.cur.Store(nil)
	c.rejected = t
	c.staleStored = c.cfg.store != nil
	c.invalidations++
	return true
}

// kick starts a background refresh unless one is running or a failed one is
// backing off. The atomic checks keep callers in the early-refresh window
// off the mutex. Under the mutex it checks again that the cached token is
// still due: the caller read it before, and a refresh may have published
// a fresh one since (and cleared flying), which needs no refresh.
func (c *Cache) kick(ctx context.Context, now time.Duration, wall int64) {
	if c.flying.Load() || c.backingOff(now, wall) {
		return
	}
	c.mu.Lock()
	if e := c.cur.Load(); e == nil || e.due(now, wall) {
		c.startLocked(ctx, now, wall)
	}
	c.mu.Unlock()
}

func (c *Cache) slow(ctx context.Context) (Token, error) {
	c.mu.Lock()
	now, wall := c.clock()
	if e := c.cur.Load(); e != nil && e.fresh(now, wall) {
		// A refresh finished while we were getting here.
		if e.due(now, wall) {
			c.startLocked(ctx, now, wall)
		}
		c.mu.Unlock()
		return e.tok, nil
	}
	f := c.startLocked(ctx, now, wall)
	if f == nil && c.closed {
		c.mu.Unlock()
		return Token{}, ErrClosed
	}
	if f == nil {
		err := &RefreshError{
			Err:      c.lastErr,
			Failures: c.failures,
			RetryAt:  time.Now().Add(min(time.Duration(c.nextTry.Load())-now, time.Duration(c.nextTryWall.Load()-wall))),
			Backoff:  true,
		}
		c.mu.Unlock()
		return Token{}, err
	}
	c.mu.Unlock()
	select {
	case <-f.done:
		if f.err != nil {
			return Token{}, f.err
		}
		return f.tok, nil
	case <-ctx.Done():
		return Token{}, fmt.Errorf("tokens: waiting for token refresh: %w", context.Cause(ctx))
	}
}

// startLocked returns the running refresh, starts one, or returns nil when a
// failed refresh is still backing off. c.mu must be held.
func (c *Cache) startLocked(ctx context.Context, now time.Duration, wall int64) *flight {
	if c.fl != nil {
		return c.fl
	}
	if c.closed || c.backingOff(now, wall) {
		return nil
	}
	f := &flight{done: make(chan struct{})}
	c.fl = f
	c.flying.Store(true)
	rctx := context.WithoutCancel(ctx)
	if c.cfg.store != nil {
		// A secret read under the persistence key (FromStore) would be
		// overwritten by the token: the read refuses it.
		rctx = withWriteTarget(rctx, c.cfg.store, c.cfg.storeKey, "WithPersistence", "the token a Cache persists (WithPersistence)")
	}
	sctx, stop := context.WithCancelCause(rctx)
	f.stop = stop
	rctx, cancel := context.WithTimeout(sctx, c.cfg.timeout)
	go c.run(rctx, func() { cancel(); stop(nil) }, f)
	return f
}

// backingOff reports whether a failed refresh's backoff step still runs at
// the clock reading (now, wall): until both clocks say it is over. A
// suspend, which the monotonic clock does not count, ends it as the wall
// clock (and the token server's) sees it; a wall clock stepped back cannot
// make it last longer than its length.
func (c *Cache) backingOff(now time.Duration, wall int64) bool {
	return int64(now) < c.nextTry.Load() && wall < c.nextTryWall.Load()
}

// Close cancels the refresh running now, if any, and the writes to the
// store (WithPersistence) in progress or queued, and keeps any refresh
// from starting after it: see Cache for what Token does then. A Cache that
// several users share is closed by its owner, once all of them are done
// with it. Close is idempotent, safe for concurrent use, and always
// returns nil; a zero Cache's Close does nothing.
func (c *Cache) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.srcSem == nil {
		return nil
	}
	c.closed = true
	// The fast path's kick then returns without taking the mutex.
	c.nextTry.Store(math.MaxInt64)
	c.nextTryWall.Store(math.MaxInt64)
	if c.fl != nil {
		c.fl.stop(ErrClosed)
	}
	c.shutDown(ErrClosed) // the writes to the store in progress or queued
	return nil
}

// run performs one refresh and publishes its outcome.
func (c *Cache) run(ctx context.Context, cancel context.CancelFunc, f *flight) {
	defer cancel()
	tok, fromStore, grant, err := c.fetch(ctx)
	if err == nil && tok.IsZero() {
		err = ErrNoToken
	}
	if _, wall := c.clock(); err == nil && tok.ExpiredAt(time.Unix(0, wall)) {
		// Of no use, and without the error the next caller would refresh
		// at once, and every caller after it: it backs off like a failure.
		err = fmt.Errorf("%w: the source's token had already expired", ErrNoToken)
	}
	c.mu.Lock()
	if c.closed {
		// Cancelled by Close, or done just as Close came: the Cache
		// publishes, persists and reports nothing any more.
		f.err = ErrClosed
		c.fl = nil
		c.flying.Store(false)
		c.mu.Unlock()
		close(f.done)
		return
	}
	// The token a server just rejected, handed back: it is served (the 401
	// may have been one resource's or a passing fault), but the refresh
	// counts as failed and backs off, so that a server that keeps
	// rejecting it does not cost a token request per call.
	handedBack := err == nil && !c.rejected.IsZero() && tok.Equal(c.rejected)
	// A failed refresh after Invalidate deletes the persisted copy of the
	// invalidated token (so does one that handed it back); a successful
	// one overwrites it. Either clears staleStored once its write succeeds.
	drop := (err != nil || handedBack) && c.staleStored
	// The token the store already holds (an early refresh that got the
	// cached token back) is not written again: the write would change
	// nothing. One whose write failed is written by the next answer.
	stored := err == nil && !handedBack && (fromStore || sameToken(tok, c.stored) && !c.staleStored)
	if fromStore {
		c.stored = tok
	}
	epoch := c.invalidations
	var failed error // the refresh's failure, for the error handler
	if err != nil || handedBack {
		c.failures++
		wait := c.backoff(c.failures)
		if ra, ok := serverRetryAfter(err, time.Now()); ok {
			// The token endpoint asked for no request before then (a 429
			// or 503 with Retry-After): its wait, capped at the maximum
			// backoff, when longer than the Cache's own step.
			wait = max(wait, min(ra, c.cfg.maxBackoff))
		}
		m, w := c.clock()
		c.nextTry.Store(int64(m + wait))
		c.nextTryWall.Store(addWall(w, wait))
		c.lastErr = err
		if handedBack {
			c.lastErr = ErrTokenRejected
		}
		failed = &RefreshError{Err: c.lastErr, Failures: c.failures, RetryAt: time.Now().Add(wait)}
	}
	if err == nil {
		e := c.newEntry(tok)
		if old := c.cur.Load(); !handedBack && old != nil && sameToken(old.tok, tok) {
			// The cached token itself, handed back (a source with a cache
			// of its own that keeps its token until it expires): no
			// progress. Re-arming at half the remaining life would ask
			// again ever more often as expiry nears; the next early
			// attempt waits a backoff step (doubling with each such
			// answer), never past the token's serving deadline.
			c.sameStreak++
			c.delayRefresh(e, c.backoff(c.sameStreak))
		} else if !handedBack {
			c.sameStreak = 0
		}
		if !handedBack {
			e.afterReject = !c.rejected.IsZero()
			e.publishedAt, e.publishedWall = c.clock()
			if !e.afterReject {
				c.rejectStreak = 0
			}
			c.failures, c.lastErr = 0, nil
			c.rejected = Token{}
			c.nextTry.Store(anyTime)
			c.nextTryWall.Store(anyTime)
		}
		c.cur.Store(e)
		f.tok = tok
	} else {
		f.err = failed
	}
	// The flight ends as it publishes: a caller that finds no valid token
	// from now on (Invalidate) starts a new refresh instead of joining this
	// one and getting its token again.
	c.published++
	gen := c.published
	c.fl = nil
	c.flying.Store(false)
	c.mu.Unlock()
	// Persisting is best effort and does not hold the waiters (a keyring
	// write can take its whole timeout).
	close(f.done)

	if (err == nil && !stored && !handedBack || drop) && c.cfg.store != nil {
		// The refresh may have used up its timeout (a token endpoint that
		// did not answer: the very failure after which the rejected token
		// must be deleted), so persisting gets a timeout of its own.
		// Close ends it too (a store that does not answer would keep
		// this goroutine for the timeout after Close).
		sctx, sstop := context.WithCancelCause(context.WithoutCancel(ctx))
		pctx, pcancel := context.WithTimeout(sctx, c.cfg.timeout)
		unhook := context.AfterFunc(c.shut, func() { sstop(ErrClosed) })
		var perr error
		select {
		case c.saveSem <- struct{}{}:
			// A later refresh may have written its newer token already,
			// and a refresh that published before this one may have
			// written over the rejected token since this one decided to
			// delete it (the delete would only lose a valid token).
			// Nothing is written after Close.
			c.mu.Lock()
			write := !c.closed && gen > c.saved && (!drop || c.staleStored)
			c.mu.Unlock()
			if write {
				c.saved = gen
				if drop {
					perr = c.drop(pctx)
				} else {
					perr = c.save(pctx, tok, grant)
				}
				// A *ChainError with Op "set" says the Chain's primary,
				// which a restart reads first, holds the new token (only
				// a fallback may hold an old copy), and an error matching
				// ErrStaleCopy says the store holds it (an old copy may
				// remain beside it): the rejected token is overwritten
				// where it would be read, and deleting the new one later
				// would expose the old copy instead. Written again, it
				// would only meet the same old copy.
				written := perr == nil || !drop && storedDespite(perr)
				c.mu.Lock()
				if written && !drop {
					c.stored = tok
				} else {
					c.stored = Token{} // unknown, or none
				}
				c.mu.Unlock()
				if written {
					// The store no longer holds a rejected token, unless
					// Invalidate dropped this refresh's token meanwhile.
					// A failed write leaves staleStored set: the next
					// refresh overwrites or deletes the rejected token.
					c.mu.Lock()
					if c.invalidations == epoch {
						c.staleStored = false
					}
					c.mu.Unlock()
				}
			}
			<-c.saveSem
		case <-pctx.Done():
			perr = fmt.Errorf("tokens: persist token: %w", context.Cause(pctx))
		}
		unhook()
		pcancel()
		sstop(nil)
		if perr != nil {
			c.report(perr)
		}
	}
	if failed != nil {
		c.report(failed)
	}
}

// storedDespite reports whether err, a store's Set error, says the new
// value is stored all the same: a *ChainError with Op "set" (the Chain's
// primary holds it) or an error matching ErrStaleCopy (an old copy may
// remain beside it).
func storedDespite(err error) bool {
	var ce *ChainError
	return errors.As(err, &ce) && ce.Op == "set" || errors.Is(err, ErrStaleCopy)
}

func (c *Cache) report(err error) {
	if c.cfg.onError == nil {
		return
	}
	// A refresh may run while the last one still persists its token:
	// their reports wait for each other.
	c.reportSem <- struct{}{}
	defer func() { <-c.reportSem }()
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if !closed { // nothing is reported after Close
		callHandler(c.cfg.onError, err)
	}
}

// fetch asks the source, or, on the first refresh of a persisting Cache,
// the store. grant is the grant the source's token was issued under
// (grantBound), for persisting it.
func (c *Cache) fetch(ctx context.Context) (tok Token, fromStore bool, grant string, err error) {
	if c.cfg.store != nil && !c.loaded {
		c.loaded = true
		tok, err := c.load(ctx)
		switch {
		case err == nil:
			if e := c.newEntry(tok); e.fresh(c.clock()) {
				return tok, true, "", nil
			}
		case !errors.Is(err, ErrNotFound):
			c.report(err)
		}
	}
	// The source runs on its own goroutine so that the refresh timeout
	// stops the refresh even when the source does not honour ctx
	// (FromOAuth2): a hung call is left behind, and its answer dropped,
	// rather than holding every caller for good. It keeps srcSem until it
	// returns: a later refresh waits for it instead of calling the source
	// beside it (one source call at a time, and at most one left behind).
	select {
	case c.srcSem <- struct{}{}:
	case <-ctx.Done():
		return Token{}, false, "", fmt.Errorf("tokens: token source did not answer: %w", context.Cause(ctx))
	}
	type answer struct {
		tok   Token
		grant string
		err   error
	}
	ch := make(chan answer, 1)
	go func() {
		var a answer
		defer func() {
			// No caller's recover reaches this goroutine: a panicking
			// source (a bug in a SourceFunc) would end the process. It
			// is a failed refresh, named by the panic value's type only
			// (its text may hold a secret).
			if v := recover(); v != nil {
				a = answer{err: fmt.Errorf("%w: the token source panicked (%T)", ErrNoToken, v)}
			}
			<-c.srcSem
			ch <- a
		}()
		a.tok, a.err = c.src.Token(ctx)
		if g, ok := c.src.(grantBound); ok && a.err == nil && c.cfg.store != nil {
			a.grant = g.issuedGrant()
		}
		// A caller's Source built on x/oauth2 quotes the token
		// endpoint's answer in its error: taken out, as TokenError does.
		a.err = redactSourceErr(a.err)
	}()
	select {
	case a := <-ch:
		return a.tok, false, a.grant, a.err
	case <-ctx.Done():
		return Token{}, false, "", fmt.Errorf("tokens: token source did not answer: %w", context.Cause(ctx))
	}
}

// newEntry computes when tok needs a background refresh and when it stops
// being served.
func (c *Cache) newEntry(tok Token) *entry {
	exp := tok.Expiry()
	if exp.IsZero() {
		return &entry{tok: tok, refreshAt: never, expireAt: never, wallRefreshAt: math.MaxInt64, wallExpireAt: math.MaxInt64}
	}
	now, wall := c.clock()
	life := exp.Sub(time.Unix(0, wall))
	if life <= 0 {
		return &entry{tok: tok, refreshAt: now, expireAt: now, wallRefreshAt: wall, wallExpireAt: wall}
	}
	// A far-future Expiry (year 9999, a source's "never") makes life
	// saturate near the largest Duration, and now+life would overflow
	// into the past: the token would never be served and every call would
	// refresh. A century is as good as never.
	life = min(life, maxLife)
	expireAt := now + life - min(c.cfg.margin, life/10)
	window := min(c.cfg.early, life/2)
	if c.cfg.jitter > 0 && window > 0 {
		window -= time.Duration(float64(window) * c.cfg.jitter * rand.Float64())
	}
	refreshAt := expireAt - window
	return &entry{
		tok: tok, refreshAt: refreshAt, expireAt: expireAt,
		wallRefreshAt: addWall(wall, refreshAt-now), wallExpireAt: addWall(wall, expireAt-now),
	}
}

// sameToken reports whether a and b are one token: the same value and the
// same expiry.
func sameToken(a, b Token) bool {
	return !a.IsZero() && a.Equal(b) && a.Expiry().Equal(b.Expiry())
}

// delayRefresh moves e's early refresh to at least step from now, but not
// past its expiry (where a caller waits for the refresh as for any
// expired token).
func (c *Cache) delayRefresh(e *entry, step time.Duration) {
	if e.refreshAt == never {
		return
	}
	at := min(max(e.refreshAt, mono()+step), e.expireAt)
	e.refreshAt = at
	e.wallRefreshAt = e.wallExpireAt - int64(e.expireAt-at)
}

// serverRetryAfter returns the wait a token endpoint's error answer asked
// for in its Retry-After field (delta-seconds, or an HTTP-date in any of
// RFC 9110's three formats), found through the *oauth2.RetrieveError in
// err: an HTTP-date is read against the answer's Date field, moved on by
// its Age (both of the server's clock), or the local clock without a
// valid Date. ok is false when there is none, or it is malformed.
func serverRetryAfter(err error, now time.Time) (time.Duration, bool) {
	var re *oauth2.RetrieveError
	if err == nil || !errors.As(err, &re) || re.Response == nil {
		return 0, false
	}
	v := strings.TrimSpace(re.Response.Header.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if ascii.AllDigits(v) { // v is not empty
		n, perr := strconv.ParseUint(v, 10, 63)
		if perr != nil || n > uint64(maxLife/time.Second) { // a very long wait
			return maxLife, true
		}
		return time.Duration(n) * time.Second, true
	}
	t, perr := http.ParseTime(v)
	if perr != nil {
		return 0, false
	}
	// A date of the server's clock, read against the answer's own Date
	// (and Age), not the local clock, which may be minutes off.
	return max(t.Sub(httpdate.ServerNow(re.Response.Header, now)), 0), true
}

// backoff returns the wait after n consecutive failures.
func (c *Cache) backoff(n int) time.Duration {
	d := c.cfg.minBackoff
	for i := 1; i < n && d < c.cfg.maxBackoff; i++ {
		d *= 2
	}
	d = min(d, c.cfg.maxBackoff)
	if c.cfg.jitter > 0 {
		d -= time.Duration(float64(d) * c.cfg.jitter * rand.Float64())
	}
	return d
}
