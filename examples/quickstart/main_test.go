package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestQuickstart runs the whole demo and checks its report.
func TestQuickstart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []string{
		"HTTP/2.0 200 OK",
		"tls(TLS 1.3, pinned, h2)",
		"attempts=1",
		"auth(OAuth2 bearer token)",
		"token endpoint: 1 token request(s) for 5 calls",
		"retry(2 attempts, fresh signature each)",
		"sign(hmac-sha256 keyid=quickstart-key-1, verified by the API)",
		"api_key=REDACTED",
		"certificate pin mismatch",
		"redirect denied",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "not-for-logs") || strings.Contains(got, "quickstart-client-secret") {
		t.Errorf("report leaks the query secret:\n%s", got)
	}
}
