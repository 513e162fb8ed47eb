package transport_test

import (
	"bufio"
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/securecall/securecall/transport"
)

// TestOpaqueEmptyAuthorityUserinfoRedacted: net/http sends a hand-set
// URL.Opaque "///user:pw@host/x" as the request target
// "https:///user:pw@host/x", the URL whose userinfo url.full redacts when
// it is written in URL.Path; the span's url.full and the audit record
// showed it, password included.
func TestOpaqueEmptyAuthorityUserinfoRedacted(t *testing.T) {
	const secret = "OPAQUE-PASSWORD-20"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	lines := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		line, _ := bufio.NewReader(c).ReadString('\n')
		lines <- line
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
	}()
	rig := newOtelRig(t, nil)
	var logs bytes.Buffer
	audit, err := transport.NewAudit(&http.Transport{}, transport.AuditConfig{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	rt := transport.NewCallTrace(audit, rig.cfg)
	req := &http.Request{Method: http.MethodGet, Header: http.Header{}, Host: ln.Addr().String(),
		URL: &url.URL{Scheme: "http", Host: ln.Addr().String(), Opaque: "///user:" + secret + "@evil.example/x"}}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if line := <-lines; !strings.Contains(line, secret) {
		t.Fatalf("request line %q: the case no longer sends the userinfo", line)
	}
	spans := rig.ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1", len(spans))
	}
	for _, kv := range spans[0].Attributes {
		if strings.Contains(kv.Value.String(), secret) {
			t.Errorf("span attribute %s = %q shows the password", kv.Key, kv.Value.String())
		}
	}
	if !strings.Contains(logs.String(), `"url.full"`) {
		t.Fatalf("no audit record: %s", logs.String())
	}
	if strings.Contains(logs.String(), secret) {
		t.Errorf("audit record shows the password: %s", logs.String())
	}
}
