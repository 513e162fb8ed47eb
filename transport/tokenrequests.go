package transport

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// TokenRequestConfig configures NewTokenRequests.
type TokenRequestConfig struct {
	// Inventory records every token request, as NewInventoryLayer records
	// a call. nil: not recorded.
	Inventory *Inventory
	// Audit, when not nil, writes one audit record per token request, as
	// NewAudit's layer writes one per call (it is validated as NewAudit
	// validates it), with every query value redacted, whatever its
	// Redaction shows of the calls'.
	Audit *AuditConfig
	// Trace, when not nil, gives each token request a client span and a
	// MetricRequestDuration measurement with the providers and propagator
	// a stack's trace layers use (pass the same TraceConfig): the span is
	// named POST, a child of the span the request's context carries (the
	// call span of the call that needed the token), with
	// http.request.method, server.address, server.port, url.full (every
	// query value redacted, whatever Redaction shows of the calls'),
	// http.response.status_code, network.protocol.version and error.type
	// as NewAttemptTrace sets them, and no header; it ends with the
	// answer's body. The token endpoint gets the span's context through
	// the propagator, as every send of a call does. With a no-op tracer
	// provider no span is started; with a no-op meter provider too, the
	// layer is left out.
	Trace *TraceConfig
}

// NewTokenRequests returns the layer for the requests a token source
// sends to its token endpoint (the transport of
// tokens.OAuth2Config.HTTPClient: client-credentials and refresh_token
// grants), so that they are in the inventory and the audit log like the
// calls they get tokens for: method POST, the endpoint's origin and path,
// the status, and the client authentication the request carries, marked
// as MarkAuth marks a call's: AuthBasic for an Authorization: Basic header
// (client_secret_basic), AuthOther for a client_secret, client_assertion
// (private_key_jwt) or refresh_token form value, read through the
// request's GetBody (the request sent is not changed). The audit record
// counts the request's send as its one attempt. No value of the request's
// body or of the answer (access, refresh or ID token) is read into an
// entry or a record, nor any header; the record's url.full and
// error.message show no query value, whatever cfg.Audit's Redaction shows
// of the calls' (it is validated all the same), as the span's url.full
// (cfg.Trace). A context of an outer call (a token fetch
// made for a call) lends neither its route, marks nor attempt count; its
// span is the token request span's parent (cfg.Trace). With neither an
// Inventory, an Audit nor a Trace that records, it returns next.
func NewTokenRequests(next http.RoundTripper, cfg TokenRequestConfig) (http.RoundTripper, error) {
	if err := checkNext(next); err != nil {
		return nil, err
	}
	next = orDefault(next)
	var tt *tokenTrace
	if cfg.Trace != nil {
		if err := cfg.Trace.checkProviders("Trace."); err != nil {
			return nil, err
		}
		tt = newTokenTrace(nil, *cfg.Trace)
	}
	if cfg.Inventory == nil && cfg.Audit == nil {
		if tt == nil {
			return next, nil
		}
		tt.next = next
		return tt, nil
	}
	var rt http.RoundTripper = &tokenMarks{next: next}
	var err error
	if cfg.Inventory != nil {
		if rt, err = NewInventoryLayer(rt, cfg.Inventory); err != nil {
			return nil, err
		}
	}
	if cfg.Audit != nil {
		if rt, err = NewAudit(rt, *cfg.Audit); err != nil {
			return nil, err
		}
		// Never a query value, as the token request's span (newTokenTrace),
		// whatever Redaction shows of the calls': a token request's are
		// the client's credentials.
		rt.(*auditLayer).policy = nil
	}
	rt = &tokenRequests{next: rt}
	if tt != nil {
		// Outermost: the span covers the inventory and the audit log,
		// whose record then carries its trace.
		tt.next = rt
		rt = tt
	}
	return rt, nil
}

// tokenRequests gives each token request a call state of its own, in
// which tokenMarks counts its send (CallAttempts): the context of a token
// fetch made for a call hides that call's (attemptDetached), or carries
// none.
type tokenRequests struct{ next http.RoundTripper }

func (t *tokenRequests) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := context.WithValue(req.Context(), callKey{}, &callState{})
	return t.next.RoundTrip(req.WithContext(ctx))
}

// tokenMarks marks the client authentication of a token request on its
// call record and counts its send.
type tokenMarks struct{ next http.RoundTripper }

// maxTokenFormRead bounds what tokenMarks reads of a token request's form.
const maxTokenFormRead = 64 << 10

func (t *tokenMarks) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	MarkAuth(ctx, tokenAuth(req))
	if cs := callStateFrom(ctx); cs != nil {
		cs.attempts.Add(1)
	}
	return t.next.RoundTrip(req)
}

// tokenAuth returns the client authentication req carries: AuthBasic for
// an Authorization: Basic header, AuthOther for a client_secret,
// client_assertion or refresh_token form value. The form is read from a
// copy of the body (GetBody); only the parameters' presence is kept.
func tokenAuth(req *http.Request) AuthKind {
	var k AuthKind
	if scheme, _, _ := strings.Cut(req.Header.Get("Authorization"), " "); strings.EqualFold(scheme, "Basic") {
		k |= AuthBasic
	}
	if req.GetBody == nil || req.Body == nil || req.Body == http.NoBody {
		return k
	}
	body, err := req.GetBody()
	if err != nil {
		return k
	}
	defer body.Close()
	b, err := io.ReadAll(io.LimitReader(body, maxTokenFormRead))
	if err != nil {
		return k
	}
	vals, _ := url.ParseQuery(string(b))
	for _, p := range [...]string{"client_secret", "client_assertion", "refresh_token"} {
		if vals.Get(p) != "" {
			k |= AuthOther
		}
	}
	return k
}
