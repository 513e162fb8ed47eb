package openapi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport"
)

// TestServerBasePathSecretNotInRoute: some APIs put the credential in the
// base URL's path (Telegram's https://api.telegram.org/bot<TOKEN>), so
// the server URL of the description (or of Config.Servers) holds it. The
// route the layer gives a call (the inventory, url.template in spans and
// metrics, the audit record) and a violation's Route (its error message)
// are the base path and the operation's path template: the base path is
// normalised as a path without a route is (transport.NormalizePath), as
// transport.Template.Route does, so the token becomes "{id}"; a plain
// base path ("/v1") and a variable ("{version}") stay as written.
func TestServerBasePathSecretNotInRoute(t *testing.T) {
	const token = "bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
	rt, host, hits, inv := serverVarsStack(t, `
  - url: "http://HOST/`+token+`"
  - url: "http://HOST/v1"`)
	for _, p := range []string{"/" + token + "/pets/1", "/v1/pets/2"} {
		if err := get(rt, "http://"+host+p); err != nil {
			t.Fatalf("GET %s: %v", p, err)
		}
	}
	err := get(rt, "http://"+host+"/"+token+"/pets/abc")
	if !errors.Is(err, transport.ErrSchemaViolation) {
		t.Fatalf("GET /pets/abc: err = %v, want ErrSchemaViolation", err)
	}
	if strings.Contains(err.Error(), "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw") {
		t.Errorf("the violation quotes the token: %v", err)
	}
	if n := hits.Load(); n != 2 {
		t.Fatalf("upstream got %d requests, want 2", n)
	}
	got := routes(inv)
	for r := range got {
		if strings.Contains(r, "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw") {
			t.Errorf("route %q holds the token", r)
		}
	}
	if got["/{id}/pets/{id}"] != 2 || got["/v1/pets/{id}"] != 1 {
		t.Errorf("routes = %v, want /{id}/pets/{id} twice (the violation too) and /v1/pets/{id} once", got)
	}
}

// TestServerBasePathSecretNotInRouteThroughClient: the same through
// client.New with the layer as a call layer, the base URL holding the
// token given as Config.Servers: no inventory entry, audit record's
// route or violation shows the token.
func TestServerBasePathSecretNotInRouteThroughClient(t *testing.T) {
	const secret = "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
	base := "https://api.example.test/bot123456789:" + secret
	var logs bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(lockedBuffer{&mu, &logs}, nil))
	up := &stubUpstream{}
	c, err := client.New(
		client.WithOrigins("https://api.example.test"),
		client.WithBaseTransport(up),
		client.WithAuditLog(logger),
		client.WithCallLayer(func(next http.RoundTripper) (http.RoundTripper, error) {
			return openapi.New(next, openapi.Config{Spec: []byte(strings.Replace(serverVarsSpec, "SERVERS", "  - url: https://unused.example.test", 1)), Servers: []string{base}})
		}),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var errs []string
	for _, p := range []string{"/pets/1", "/pets/abc"} {
		req, _ := http.NewRequest(http.MethodGet, base+p, nil)
		resp, err := c.Do(req)
		if err != nil {
			// The *url.Error's URL is url.full, the path as it is;
			// the violation's message holds the route.
			var ve *openapi.ViolationError
			if !errors.As(err, &ve) {
				t.Fatalf("GET %s: %v, want a violation", p, err)
			}
			errs = append(errs, ve.Error())
			continue
		}
		resp.Body.Close()
	}
	// The stub's 201 is no status the operation lists: both calls end in
	// a violation, one after the upstream answered.
	if up.calls.Load() != 1 || len(errs) != 2 {
		t.Fatalf("upstream calls %d, errors %v: want 1 and 2", up.calls.Load(), errs)
	}
	inv, err := json.Marshal(c.Inventory().Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	audit := logs.String()
	mu.Unlock()
	// The audit record's url is url.full, which shows the path as it is
	// (security.md, Secrets in paths); its route must not.
	var routes []string
	for _, line := range strings.Split(strings.TrimSpace(audit), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		routes = append(routes, fmt.Sprint(rec[transport.AuditRoute]))
	}
	for what, s := range map[string]string{"error": strings.Join(errs, "\n"), "inventory": string(inv), "audit route": strings.Join(routes, "\n")} {
		if strings.Contains(s, secret) {
			t.Errorf("%s shows the token: %s", what, s)
		}
	}
	if !strings.Contains(string(inv), "/{id}/pets/{id}") {
		t.Errorf("inventory %s: no route /{id}/pets/{id}", inv)
	}
}

type lockedBuffer struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}
