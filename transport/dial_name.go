package transport

import (
	"context"
	"net"
	"net/http/httptrace"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// dialName dials host (a name, not an IP literal) and port on network
// (tcp, tcp4 or tcp6) the way net.Dialer does (the dialer's Timeout over
// the whole dial, resolution included; each address in turn with its
// share of the time left; Happy Eyeballs between the two families), but
// resolves the name itself, so that the addresses the policy denies are
// left out before anything is dialed: net.Dialer returns the error of the
// first address it tried, so a denied address tried first (or of the
// primary family) turned the connect failure of an allowed one into an
// egress denial. Each allowed address is dialed as that literal through
// sd.d, whose Control hook checks it again at connect time: the address
// checked is the address connected, and no other is dialed.
//
// The error is the dial error of the allowed addresses (the first one's,
// the primary family's), which names the denied addresses when there
// were any (*partlyDeniedError); the egress denial of the first address
// only when every address was denied.
func (sd *SafeDialer) dialName(ctx context.Context, network, host, port string) (net.Conn, error) {
	if t := sd.d.Timeout; t > 0 {
		// As net.Dialer: the timeout covers resolution too.
		if deadline := time.Now().Add(t); !deadlineBy(ctx, deadline) {
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadline(ctx, deadline)
			defer cancel()
		}
	}
	r := sd.d.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	p, err := r.LookupPort(ctx, network, port)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
	ias, err := r.LookupIPAddr(resolveContext(ctx), host)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
	var allowed, denied []netip.AddrPort
	var denial error
	for _, ia := range ias {
		a, ok := netip.AddrFromSlice(ia.IP)
		if !ok {
			continue
		}
		v4 := a.Unmap().Is4()
		if network == "tcp4" && !v4 || network == "tcp6" && v4 {
			continue // as net.Dialer filters them
		}
		var addr string // as net.Dialer hands it to Control
		switch {
		case v4 && ia.Zone != "" && a.Is4In6():
			// Dialed as "a.b.c.d%zone", which control refuses.
			a = a.Unmap()
			addr = a.String() + "%" + ia.Zone + ":" + strconv.Itoa(p)
		case v4:
			a = a.Unmap()
		default:
			a = a.WithZone(ia.Zone)
		}
		ap := netip.AddrPortFrom(a, uint16(p))
		if addr == "" {
			addr = ap.String()
		}
		fam := "tcp6"
		if v4 {
			fam = "tcp4"
		}
		if err := sd.control(fam, addr, nil); err != nil {
			if denial == nil {
				denial = &net.OpError{Op: "dial", Net: network, Addr: net.TCPAddrFromAddrPort(ap), Err: err}
			}
			denied = append(denied, ap)
			continue
		}
		allowed = append(allowed, ap)
	}
	switch {
	case len(allowed) == 0 && denial != nil:
		return nil, denial
	case len(allowed) == 0:
		return nil, &net.OpError{Op: "dial", Net: network, Err: &net.AddrError{Err: "no suitable address found", Addr: host}}
	}
	var primaries, fallbacks []netip.AddrPort
	if network == "tcp" && sd.d.FallbackDelay >= 0 {
		first := allowed[0].Addr().Is4()
		for _, ap := range allowed {
			if ap.Addr().Is4() == first {
				primaries = append(primaries, ap)
			} else {
				fallbacks = append(fallbacks, ap)
			}
		}
	} else {
		primaries = allowed
	}
	c, err := sd.dialParallel(ctx, network, primaries, fallbacks)
	if err != nil && len(denied) > 0 {
		err = &partlyDeniedError{err: err, denied: denied}
	}
	return c, err
}

// deadlineBy reports whether ctx has a deadline at or before t.
func deadlineBy(ctx context.Context, t time.Time) bool {
	d, ok := ctx.Deadline()
	return ok && !t.Before(d)
}

// resolveContext returns ctx for resolving a name: with the DNS hooks of
// the caller's httptrace.ClientTrace, not its ConnectStart and
// ConnectDone, which would otherwise report the resolver's connections to
// its DNS servers (as net.Dialer hides them while it resolves).
func resolveContext(ctx context.Context) context.Context {
	ct := httptrace.ContextClientTrace(ctx)
	if ct == nil || ct.ConnectStart == nil && ct.ConnectDone == nil {
		return ctx
	}
	// DNSStart is always set, so that WithClientTrace installs net's
	// hooks anew, replacing the caller's; the caller's ClientTrace is
	// hidden, so that they are not composed with it.
	return httptrace.WithClientTrace(noClientTrace{ctx}, &httptrace.ClientTrace{
		DNSStart: func(i httptrace.DNSStartInfo) {
			if ct.DNSStart != nil {
				ct.DNSStart(i)
			}
		},
		DNSDone: ct.DNSDone,
	})
}

// noClientTrace is a context without the httptrace.ClientTrace of the one
// it wraps.
type noClientTrace struct{ context.Context }

func (c noClientTrace) Value(key any) any {
	v := c.Context.Value(key)
	if _, ok := v.(*httptrace.ClientTrace); ok {
		return nil
	}
	return v
}

// dialParallel dials primaries in turn and, FallbackDelay after starting
// them or as soon as they failed, fallbacks in turn alongside (Happy
// Eyeballs, RFC 8305, as net.Dialer): the first connection made is
// returned, the other closed; when both fail, the primaries' error.
func (sd *SafeDialer) dialParallel(ctx context.Context, network string, primaries, fallbacks []netip.AddrPort) (net.Conn, error) {
	if len(fallbacks) == 0 {
		return sd.dialSerial(ctx, network, primaries)
	}
	returned := make(chan struct{})
	defer close(returned)
	type result struct {
		c       net.Conn
		err     error
		primary bool
	}
	results := make(chan result) // unbuffered
	race := func(ctx context.Context, primary bool) {
		aps := primaries
		if !primary {
			aps = fallbacks
		}
		c, err := sd.dialSerial(ctx, network, aps)
		select {
		case results <- result{c, err, primary}:
		case <-returned:
			if c != nil {
				c.Close()
			}
		}
	}
	pctx, pcancel := context.WithCancel(ctx)
	defer pcancel()
	go race(pctx, true)
	delay := sd.d.FallbackDelay
	if delay <= 0 {
		delay = 300 * time.Millisecond // net.Dialer's default
	}
	timer := time.NewTimer(delay)
	defer timer.Stop()
	var perr error
	var pdone, fdone bool
	for {
		select {
		case <-timer.C:
			fctx, fcancel := context.WithCancel(ctx)
			defer fcancel()
			go race(fctx, false)
		case r := <-results:
			if r.err == nil {
				return r.c, nil
			}
			if r.primary {
				perr, pdone = r.err, true
			} else {
				fdone = true
			}
			if pdone && fdone {
				return nil, perr
			}
			if r.primary && timer.Stop() {
				// The fallbacks had not started: start them now.
				timer.Reset(0)
			}
		}
	}
}

// dialSerial dials aps in turn, each as its literal through sd.d (which
// checks it again), and returns the first connection made or the first
// error. As net.Dialer, each address gets an equal share of the time
// left before ctx's deadline, at least two seconds.
func (sd *SafeDialer) dialSerial(ctx context.Context, network string, aps []netip.AddrPort) (net.Conn, error) {
	var first error
	for i, ap := range aps {
		dctx, cancel := ctx, context.CancelFunc(nil)
		if deadline, ok := ctx.Deadline(); ok && i < len(aps)-1 {
			if left := time.Until(deadline); left > 0 {
				share := max(left/time.Duration(len(aps)-i), min(left, 2*time.Second))
				if share < left {
					dctx, cancel = context.WithTimeout(ctx, share)
				}
			}
		}
		c, err := sd.d.DialContext(dctx, network, ap.String())
		if cancel != nil {
			cancel()
		}
		if err == nil {
			return c, nil
		}
		if first == nil {
			first = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, first
}

// partlyDeniedError is the dial error of a name's allowed addresses when
// the policy denied its others: it wraps that error (a *net.OpError, a
// failed dial: never sent), not ErrEgressDenied, since the connection
// failed for a reason of the host's, and names the denied addresses.
type partlyDeniedError struct {
	err    error
	denied []netip.AddrPort
}

func (e *partlyDeniedError) Error() string {
	var b strings.Builder
	b.WriteString(e.err.Error())
	b.WriteString(" (transport: egress denied the name's other addresses: ")
	const shown = 4
	for i, ap := range e.denied[:min(len(e.denied), shown)] {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(ap.Addr().String())
	}
	if n := len(e.denied) - shown; n > 0 {
		b.WriteString(" and " + strconv.Itoa(n) + " more")
	}
	b.WriteString(")")
	return b.String()
}

func (e *partlyDeniedError) Unwrap() error { return e.err }
