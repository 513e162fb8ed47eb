package transport

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

type setContextKey struct{}

// setContext, which writes the context field through its offset, leaves a
// request as *r = *r.WithContext(ctx) does: the new context, every other
// field as it was. The offset is found on this Go (a Go whose Request lost
// the field would take the copy, and this test says so).
func TestSetContextAgreesWithWithContext(t *testing.T) {
	if !ctxField.ok {
		t.Fatal("http.Request has no ctx field of type context.Context: setContext copies the request")
	}
	ctx := context.WithValue(context.Background(), setContextKey{}, "v")
	for _, body := range []string{"", "payload"} {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, "https://api.example/v1?q=1", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.GetBody = nil // funcs are never DeepEqual
		req.Header.Set("X-A", "a")
		req.SetPathValue("id", "7")
		got, want := *req, *req.WithContext(ctx)
		setContext(&got, ctx)
		if got.Context() != ctx {
			t.Errorf("body %q: context not set", body)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("body %q: setContext's request differs from WithContext's:\n%+v\n%+v", body, got, want)
		}
		if req.Context() == ctx {
			t.Errorf("body %q: the source request changed", body)
		}
	}
	r := &http.Request{}
	if n := testing.AllocsPerRun(100, func() { setContext(r, ctx) }); n != 0 {
		t.Errorf("setContext: %v allocs, want 0", n)
	}
}
