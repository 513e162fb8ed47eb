package transport_test

import (
	"context"
	"testing"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// TestTraceCallSpanCarriesRoute: a call made with a route (Template.NewRequest
// or WithRoute) reports it on its call span as url.template, the
// low-cardinality name of the call, next to url.full; a call without one
// has no url.template.
func TestTraceCallSpanCarriesRoute(t *testing.T) {
	tmpl := transport.MustParseTemplate("/users/{id}")
	rig := newOtelRig(t, nil).twoLevel()
	req, err := tmpl.NewRequest(context.Background(), "GET", "https://api.example.test/v1", nil, "alice")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := rig.stack(transporttest.NewResponder(transporttest.Respond(200, ""))).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	call, _ := splitSpans(t, rig.ended())
	wantAttr(t, call, "url.template", "/v1/users/{id}")

	rig = newOtelRig(t, nil).twoLevel()
	resp, err = rig.stack(transporttest.NewResponder(transporttest.Respond(200, ""))).RoundTrip(trReq(t, "GET"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	call, _ = splitSpans(t, rig.ended())
	noAttr(t, call, "url.template")
}
