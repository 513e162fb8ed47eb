package redact

import "testing"

// Set-Cookie2 carries a session cookie as Set-Cookie does: never shown,
// even when a Policy lists it.
func TestSetCookie2NeverShown(t *testing.T) {
	p := &Policy{Headers: []string{"Set-Cookie2", "X-Request-Id"}}
	if !CredentialHeader("set-cookie2") || p.AllowsHeader("Set-Cookie2") {
		t.Error("Set-Cookie2 is not a credential header")
	}
	if got := p.VisibleHeaders(); len(got) != 1 || got[0] != "X-Request-Id" {
		t.Errorf("VisibleHeaders() = %q, want [X-Request-Id]", got)
	}
	if got := p.Header("Set-Cookie2", "sid=secret"); got != Redacted {
		t.Errorf("Header(Set-Cookie2) = %q", got)
	}
}
