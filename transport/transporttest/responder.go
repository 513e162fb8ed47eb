package transporttest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
)

// Step is one scripted outcome of a Responder: a response (Status, Header,
// Body) or, when Err is set, an error. Build steps with Respond, Fail and
// Hang, or fill the fields directly.
type Step struct {
	// Status is the response status code. Zero means 200.
	Status int
	// Header is copied into every response built from the step.
	Header http.Header
	// Body is the response body. Responses to HEAD requests and with status
	// 1xx, 204 or 304 get http.NoBody instead, as from a real transport;
	// every other response gets a new TrackedBody over Body (an empty one
	// when Body is empty).
	Body []byte
	// Err, when non-nil, makes the step fail with Err and no response.
	Err error
	// Hang makes the step block until the request's context is done and
	// then fail with the context's error, like a server that never answers.
	Hang bool
}

// Respond returns a step answering with status, body and headers given as
// name/value pairs ("Content-Type", "text/plain", "Retry-After", "0", ...).
// An odd number of header strings is a programming error and panics.
func Respond(status int, body string, hdr ...string) Step {
	if len(hdr)%2 != 0 {
		panic("transporttest: Respond: odd number of header strings")
	}
	h := make(http.Header, len(hdr)/2)
	for i := 0; i < len(hdr); i += 2 {
		h.Add(hdr[i], hdr[i+1])
	}
	return Step{Status: status, Header: h, Body: []byte(body)}
}

// Fail returns a step that fails with err, the way a transport reports a
// failure to connect or a broken connection.
func Fail(err error) Step { return Step{Err: err} }

// Hang returns a step that blocks until the request's context is done and
// then fails with the context's error.
func Hang() Step { return Step{Hang: true} }

// RecordedRequest is a snapshot of a request a Responder received, taken
// when it arrived: later changes to the request do not show in it.
type RecordedRequest struct {
	// Method, URL (a copy), Host, Header (a clone), ContentLength and
	// TransferEncoding are copied from the request.
	Method           string
	URL              *url.URL
	Host             string
	Header           http.Header
	ContentLength    int64
	TransferEncoding []string
	// Body holds the bytes read from req.Body (read to EOF; GetBody is not
	// used). It is nil when the request had no body.
	Body []byte
	// BodyErr is the error, other than io.EOF, that reading req.Body gave.
	BodyErr error
	// HasGetBody reports whether req.GetBody was set.
	HasGetBody bool
	// Context is the request's context, so a test can check its values and
	// whether it was cancelled.
	Context context.Context
	// Request is the request itself, for identity checks. Its Body has
	// already been read and closed.
	Request *http.Request
	// ResponseBody is the body of the response the Responder returned for
	// this request; nil when the step failed or the response had no body
	// (http.NoBody).
	ResponseBody *TrackedBody
}

// Responder is a scripted fake transport to put under a layer as its next
// RoundTripper. It is safe for concurrent use.
//
// Each RoundTrip consumes the next Step of the script; when the script runs
// out, the LAST step is repeated for every further call (so a one-step
// script answers every call the same way). A Responder with no steps answers
// 200 with an empty body.
//
// Like a real transport, RoundTrip reads req.Body to EOF and closes it on
// every path, including failures, and fails with the context's error
// (without consuming a step) when the request's context is already done.
// Every response body it hands out is a TrackedBody, listed by Bodies.
type Responder struct {
	mu     sync.Mutex
	steps  []Step
	pos    int
	calls  int
	reqs   []RecordedRequest
	bodies []*TrackedBody
}

// NewResponder returns a Responder that plays steps in order and then
// repeats the last one.
func NewResponder(steps ...Step) *Responder {
	return &Responder{steps: steps}
}

// RoundTrip records req, consumes the next step and returns its outcome.
func (r *Responder) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := record(req) // reads and closes req.Body
	r.mu.Lock()
	r.calls++
	idx := len(r.reqs)
	r.reqs = append(r.reqs, rec)
	if err := req.Context().Err(); err != nil {
		r.mu.Unlock()
		return nil, err
	}
	step := Step{}
	if len(r.steps) > 0 {
		step = r.steps[min(r.pos, len(r.steps)-1)]
		r.pos++
	}
	r.mu.Unlock()

	switch {
	case step.Hang:
		<-req.Context().Done()
		return nil, req.Context().Err()
	case step.Err != nil:
		return nil, step.Err
	}
	return r.respond(req, step, idx), nil
}

func (r *Responder) respond(req *http.Request, step Step, idx int) *http.Response {
	status := step.Status
	if status == 0 {
		status = http.StatusOK
	}
	resp := &http.Response{
		Status:     strconv.Itoa(status) + " " + http.StatusText(status),
		StatusCode: status,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     step.Header.Clone(),
		Request:    req,
	}
	if resp.Header == nil {
		resp.Header = make(http.Header)
	}
	if req.Method == http.MethodHead || status/100 == 1 || status == http.StatusNoContent || status == http.StatusNotModified {
		resp.Body = http.NoBody
		resp.ContentLength = 0
		if cl, err := strconv.ParseInt(resp.Header.Get("Content-Length"), 10, 64); err == nil && req.Method == http.MethodHead {
			resp.ContentLength = cl
		}
		return resp
	}
	b := NewTrackedBody(step.Body)
	resp.Body = b
	resp.ContentLength = int64(len(step.Body))
	r.mu.Lock()
	r.bodies = append(r.bodies, b)
	r.reqs[idx].ResponseBody = b
	r.mu.Unlock()
	return resp
}

// record snapshots req and consumes its body as a transport would.
func record(req *http.Request) RecordedRequest {
	rec := RecordedRequest{
		Method:           req.Method,
		Host:             req.Host,
		Header:           req.Header.Clone(),
		ContentLength:    req.ContentLength,
		TransferEncoding: append([]string(nil), req.TransferEncoding...),
		HasGetBody:       req.GetBody != nil,
		Context:          req.Context(),
		Request:          req,
	}
	if req.URL != nil {
		u := *req.URL
		if u.User != nil {
			uu := *u.User
			u.User = &uu
		}
		rec.URL = &u
	}
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		rec.Body = b
		if err != nil {
			rec.BodyErr = err
		}
	}
	if req.Body != nil {
		req.Body.Close()
	}
	return rec
}

// Calls returns the number of RoundTrip calls so far.
func (r *Responder) Calls() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls
}

// Requests returns the recorded requests, in arrival order.
func (r *Responder) Requests() []RecordedRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]RecordedRequest(nil), r.reqs...)
}

// Bodies returns the response bodies handed out so far, in order.
func (r *Responder) Bodies() []*TrackedBody {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*TrackedBody(nil), r.bodies...)
}

// Unclosed returns an error describing the response bodies handed out that
// were not closed, or nil when every one was closed.
func (r *Responder) Unclosed() error {
	var open []int
	for i, b := range r.Bodies() {
		if !b.Closed() {
			open = append(open, i)
		}
	}
	if len(open) == 0 {
		return nil
	}
	return fmt.Errorf("transporttest: %d of %d response bodies not closed (indexes %v)", len(open), len(r.Bodies()), open)
}
