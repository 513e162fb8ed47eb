package transporttest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
)

func get(t *testing.T, ctx context.Context, method, url string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestResponderScriptRepeatsLastStep(t *testing.T) {
	boom := errors.New("boom")
	r := NewResponder(Respond(503, "busy", "Retry-After", "1"), Fail(boom), Respond(200, "ok", "Content-Type", "text/plain"))
	want := []struct {
		status int
		err    error
		body   string
	}{{503, nil, "busy"}, {0, boom, ""}, {200, nil, "ok"}, {200, nil, "ok"}, {200, nil, "ok"}}
	for i, w := range want {
		resp, err := r.RoundTrip(get(t, context.Background(), "GET", "https://a.test/", nil))
		if w.err != nil {
			if !errors.Is(err, w.err) || resp != nil {
				t.Fatalf("call %d: %v, %v; want error %v", i, resp, err, w.err)
			}
			continue
		}
		if err != nil || resp.StatusCode != w.status {
			t.Fatalf("call %d: %v, %v; want %d", i, resp, err, w.status)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != w.body {
			t.Fatalf("call %d: body %q, want %q", i, b, w.body)
		}
		if i == 0 && resp.Header.Get("Retry-After") != "1" {
			t.Fatalf("call 0: header %v", resp.Header)
		}
	}
	if r.Calls() != len(want) || len(r.Requests()) != len(want) {
		t.Fatalf("Calls = %d, Requests = %d; want %d", r.Calls(), len(r.Requests()), len(want))
	}
	if len(r.Bodies()) != 4 {
		t.Fatalf("Bodies = %d, want 4 (one per response)", len(r.Bodies()))
	}
	if err := r.Unclosed(); err != nil {
		t.Fatal(err)
	}
}

func TestResponderNoStepsAnswers200(t *testing.T) {
	resp, err := NewResponder().RoundTrip(get(t, context.Background(), "GET", "https://a.test/", nil))
	if err != nil || resp.StatusCode != 200 || resp.Body == nil {
		t.Fatalf("%v, %v", resp, err)
	}
	resp.Body.Close()
}

func TestResponderRecordsSnapshot(t *testing.T) {
	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, "v")
	r := NewResponder(Respond(201, "created"))
	req := get(t, ctx, "POST", "https://a.test/p?q=1", strings.NewReader("payload"))
	req.Header.Set("X-A", "1")
	body := NewTrackedBody([]byte("payload"))
	req.Body = body
	resp, err := r.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	req.Header.Set("X-A", "changed later")
	req.URL.Path = "/changed"

	if !body.Closed() || !body.Drained() {
		t.Fatalf("request body closed=%v drained=%v; a transport reads and closes it", body.Closed(), body.Drained())
	}
	rec := r.Requests()[0]
	if rec.Method != "POST" || rec.URL.String() != "https://a.test/p?q=1" || rec.Header.Get("X-A") != "1" {
		t.Fatalf("snapshot changed with the request: %+v", rec)
	}
	if string(rec.Body) != "payload" || rec.ContentLength != 7 || !rec.HasGetBody || rec.Request != req {
		t.Fatalf("snapshot body=%q cl=%d getbody=%v", rec.Body, rec.ContentLength, rec.HasGetBody)
	}
	if rec.Context.Value(key{}) != "v" {
		t.Fatal("context not recorded")
	}
	if resp.Request != req {
		t.Fatal("resp.Request is not the request received")
	}
}

func TestResponderClosesRequestBodyOnFailure(t *testing.T) {
	r := NewResponder(Fail(errors.New("refused")))
	body := NewTrackedBody([]byte("x"))
	req := get(t, context.Background(), "PUT", "https://a.test/", nil)
	req.Body = body
	if _, err := r.RoundTrip(req); err == nil {
		t.Fatal("no error")
	}
	if !body.Closed() {
		t.Fatal("request body not closed on failure")
	}
}

func TestResponderNoBodyResponses(t *testing.T) {
	r := NewResponder(Respond(204, "ignored"), Respond(200, "ignored", "Content-Length", "7"), Respond(304, ""))
	for i, method := range []string{"GET", "HEAD", "GET"} {
		resp, err := r.RoundTrip(get(t, context.Background(), method, "https://a.test/", nil))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Body != http.NoBody {
			t.Fatalf("call %d (%s %d): body %T, want http.NoBody", i, method, resp.StatusCode, resp.Body)
		}
		if method == "HEAD" && resp.ContentLength != 7 {
			t.Fatalf("HEAD ContentLength = %d, want 7", resp.ContentLength)
		}
	}
	if len(r.Bodies()) != 0 {
		t.Fatalf("Bodies = %d, want 0", len(r.Bodies()))
	}
}

func TestResponderCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := NewResponder(Respond(200, "ok"), Respond(500, "second"))
	if _, err := r.RoundTrip(get(t, ctx, "GET", "https://a.test/", nil)); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	resp, err := r.RoundTrip(get(t, context.Background(), "GET", "https://a.test/", nil))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("a cancelled call consumed a step: %v, %v", resp, err)
	}
	resp.Body.Close()
	if r.Calls() != 2 {
		t.Fatalf("Calls = %d, want 2", r.Calls())
	}
}

func TestResponderHang(t *testing.T) {
	r := NewResponder(Hang())
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := r.RoundTrip(get(t, ctx, "GET", "https://a.test/", nil))
		errc <- err
	}()
	for r.Calls() == 0 {
		// Wait until the call is in; Calls is counted before it blocks.
		select {
		case err := <-errc:
			t.Fatalf("returned before cancel: %v", err)
		default:
			runtime.Gosched()
		}
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestResponderConcurrent(t *testing.T) {
	r := NewResponder(Respond(200, "ok"))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				resp, err := r.RoundTrip(get(t, context.Background(), "GET", "https://a.test/", nil))
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	if r.Calls() != 400 || len(r.Requests()) != 400 || len(r.Bodies()) != 400 {
		t.Fatalf("Calls=%d Requests=%d Bodies=%d, want 400", r.Calls(), len(r.Requests()), len(r.Bodies()))
	}
	if err := r.Unclosed(); err != nil {
		t.Fatal(err)
	}
}

func TestResponderUnclosed(t *testing.T) {
	r := NewResponder(Respond(200, "a"))
	resp, _ := r.RoundTrip(get(t, context.Background(), "GET", "https://a.test/", nil))
	if r.Unclosed() == nil {
		t.Fatal("Unclosed = nil with an open body")
	}
	resp.Body.Close()
	if err := r.Unclosed(); err != nil {
		t.Fatal(err)
	}
}

func TestRespondOddHeadersPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	//lint:ignore SA5012 the odd count is the point of this test
	Respond(200, "", "X-Only-Name")
}

func TestRoundTripperFunc(t *testing.T) {
	var got *http.Request
	f := RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
		got = r
		return nil, errors.New("x")
	})
	req := get(t, context.Background(), "GET", "https://a.test/", nil)
	var rt http.RoundTripper = f
	if _, err := rt.RoundTrip(req); err == nil || got != req {
		t.Fatalf("err=%v got=%p req=%p", err, got, req)
	}
}

func TestResponderRecordsResponseBody(t *testing.T) {
	r := NewResponder(Respond(503, "busy"), Fail(errors.New("x")), Respond(204, ""), Respond(200, "ok"))
	for range 4 {
		if resp, err := r.RoundTrip(get(t, context.Background(), "GET", "https://a.test/", nil)); err == nil {
			resp.Body.Close()
		}
	}
	reqs, bodies := r.Requests(), r.Bodies()
	if len(bodies) != 2 {
		t.Fatalf("Bodies = %d, want 2", len(bodies))
	}
	if reqs[0].ResponseBody != bodies[0] || reqs[1].ResponseBody != nil || reqs[2].ResponseBody != nil || reqs[3].ResponseBody != bodies[1] {
		t.Fatalf("ResponseBody mapping wrong: %v %v %v %v", reqs[0].ResponseBody, reqs[1].ResponseBody, reqs[2].ResponseBody, reqs[3].ResponseBody)
	}
}
