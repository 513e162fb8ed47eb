package transport_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// TestTemplateRouteFoldsBasePath: the route of a templated request is the
// base URL's path followed by the template, and the base path is no
// template: a Telegram bot token (the API's base is
// https://api.telegram.org/bot<TOKEN>), a webhook secret or a tenant id in
// it went into the route as it was, so into the inventory's entries and
// JSON, its metric attributes, the call span's and the audit record's
// url.template, where a call without a template had it folded to "{id}"
// (security.md: the route hides a path secret when a template names the
// call). The base path is now normalised as NormalizePath does; the
// template stays as written.
func TestTemplateRouteFoldsBasePath(t *testing.T) {
	const token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
	send := transport.MustParseTemplate("/sendMessage")
	for _, tc := range []struct {
		base, tmpl, want string
	}{
		{"https://api.telegram.org/bot" + token, "/sendMessage", "/{id}/sendMessage"},
		{"https://api.example.test/tenants/88127342/v1/", "/users/{id}", "/tenants/{id}/v1/users/{id}"},
		{"https://api.example.test/v1", "/users/{id}", "/v1/users/{id}"},
		{"https://api.example.test/api/v2.1", "/items", "/api/v2.1/items"},
		{"https://api.example.test", "/users/{id}", "/users/{id}"},
		{"https://api.example.test/", "/users/{id}", "/users/{id}"},
	} {
		b, err := url.Parse(tc.base)
		if err != nil {
			t.Fatal(err)
		}
		if got := transport.MustParseTemplate(tc.tmpl).Route(b); got != tc.want {
			t.Errorf("Route(%q) of %q = %q, want %q", tc.base, tc.tmpl, got, tc.want)
		}
	}

	// Through the audit log and the inventory.
	inv, err := transport.NewInventory(transport.InventoryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer inv.Close()
	il, err := transport.NewInventoryLayer(transporttest.NewResponder(transporttest.Respond(200, "")), inv)
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	rt, err := transport.NewAudit(il, transport.AuditConfig{Logger: slog.New(slog.NewJSONHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	req, err := send.NewRequest(context.Background(), http.MethodPost, "https://api.telegram.org/bot"+token, strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	snap, err := json.Marshal(inv)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(snap), token) {
		t.Errorf("the inventory holds the bot token: %s", snap)
	}
	var rec map[string]any
	if err := json.Unmarshal(log.Bytes(), &rec); err != nil {
		t.Fatal(err)
	}
	if got := rec["url.template"]; got != "/{id}/sendMessage" {
		t.Errorf("audit url.template = %v, want /{id}/sendMessage", got)
	}
}
