package transport_test

import (
	"net/http"
	"testing"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// A stack without a call trace: a second call to the same URL made with
// the first response's request context gets a record of its own. It
// neither sees the first call's marks and route nor marks the first
// call's record.
func TestFollowUpCallRecordWithoutCallScope(t *testing.T) {
	var seen []transport.CallInfo
	mark := true
	inner := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		info, _ := transport.CallInfoFrom(req.Context())
		seen = append(seen, info)
		if mark {
			transport.MarkAuth(req.Context(), transport.AuthAPIKey)
			transport.MarkPinned(req.Context())
		}
		return &http.Response{StatusCode: 204, Body: http.NoBody, Request: req}, nil
	})
	rt := inventoryLayer(t, inner, newInventory(t, transport.InventoryConfig{}))
	req1, _ := http.NewRequestWithContext(transport.WithRoute(t.Context(), "/k/{id}"), http.MethodGet, "https://api.example.test/k/1", nil)
	resp1, err := rt.RoundTrip(req1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp1.Body.Close()
	mark = false
	ctx := resp1.Request.Context()
	req2, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://api.example.test/k/1", nil)
	resp2, err := rt.RoundTrip(req2)
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if len(seen) != 2 || seen[1] != (transport.CallInfo{}) {
		t.Errorf("second call's record %+v, want an empty one of its own", seen)
	}
	info, ok := transport.CallInfoFrom(resp2.Request.Context())
	if ok {
		t.Errorf("CallInfoFrom after the call = %+v: the record of a call that is over", info)
	}
	if transport.SetRoute(ctx, "/other") {
		t.Error("SetRoute set the route of a call that is over")
	}
}
