package client_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/securecall/securecall/client"
)

// TestDoHostlessUserinfoRedacted: "https:///user:pw@host/x" (one slash too
// many) parses with no host and the userinfo in the path; the request is
// refused, and the error of Do must not quote the password.
func TestDoHostlessUserinfoRedacted(t *testing.T) {
	const canary = "CANARY-hostless-7"
	c, err := client.New()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, u := range []string{"https:///user:" + canary + "@api.example.test/v1", "https:/user:" + canary + "@api.example.test/v1"} {
		req, err := http.NewRequest(http.MethodGet, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Do(req)
		if resp != nil || err == nil {
			t.Fatalf("resp %v err %v, want an error", resp, err)
		}
		if strings.Contains(err.Error(), canary) {
			t.Errorf("error carries the password: %v", err)
		}
	}
}
