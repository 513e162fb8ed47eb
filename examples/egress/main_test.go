package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestEgressExample runs the demo and checks that every defence acted.
func TestEgressExample(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []string{
		`user 42: 200 OK {"id":"42","name":"Ada"}`,
		"user ../admin: refused before sending",
		"export: 200 OK after 1048576 bytes: too large",
		`legacy: media type: transport: response media type denied: "text/html"`,
		"moved: egress denied: https://attacker.example.test:443: host not on the egress allowlist",
		"metadata: egress denied: https://169.254.169.254:443",
		"ssrf: refused at connect time: prohibited IP address: 127.0.0.1",
		"scheme not allowed (https only)",
		"internal admin service requests: 0",
		"api_key=REDACTED",
		"url.template=/v1/users/{id}",
		"securecall.attempts=1",
		"/v1/users/{id} calls=1 status=map[2xx:1] tls=[TLS 1.3]",
		"https://attacker.example.test:443 /collect calls=1 status=map[error:1]",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "not-for-logs") || strings.Contains(got, "internal secrets") {
		t.Errorf("output leaks a secret:\n%s", got)
	}
	if n := strings.Count(got, "ssrf: refused at connect time"); n != 3 {
		t.Errorf("%d SSRF refusals, want 3:\n%s", n, got)
	}
}
