package redact

import "testing"

// TestDPoPIsACredentialHeader: an RFC 9449 DPoP proof is never shown in
// telemetry, even when a Policy lists it.
func TestDPoPIsACredentialHeader(t *testing.T) {
	for _, n := range []string{"DPoP", "Dpop", "dpop"} {
		if !CredentialHeader(n) {
			t.Errorf("CredentialHeader(%q) = false", n)
		}
	}
	p := &Policy{Headers: []string{"DPoP"}}
	if got := p.Header("Dpop", "eyJ0eXAiOiJkcG9wK2p3dCJ9.CANARY"); got != Redacted {
		t.Errorf("Header(Dpop) = %q, want %q", got, Redacted)
	}
}
