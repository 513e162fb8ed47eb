package signer

import (
	"net/http"
	"testing"
)

// TestMergeKeysReportsSignatureKeys: mergeKeys reports false only for a
// header without a Signature-Input or Signature key once merged, which
// spares Sign the lookups of its label-in-use check; any spelling of either
// field, with lines or without, is reported.
func TestMergeKeysReportsSignatureKeys(t *testing.T) {
	for _, c := range []struct {
		name string
		h    http.Header
		want bool
	}{
		{"empty", http.Header{}, false},
		{"other fields", http.Header{"Accept": {"*/*"}, "Authorization": {"Bearer x"}, "Signaturex": {"a"}}, false},
		{"odd other field", http.Header{"x-api-key": {"k"}, "Accept": {"*/*"}}, true},
		{"Signature-Input", http.Header{"Accept": {"*/*"}, "Signature-Input": {`sig1=("@method")`}}, true},
		{"Signature", http.Header{"Signature": {"sig1=:AAAA:"}}, true},
		{"Signature without lines", http.Header{"Signature": {}}, true},
		{"Signature-Input nil", http.Header{"Signature-Input": nil}, true},
		{"signature-input", http.Header{"signature-input": {`sig1=("@method")`}}, true},
		{"SIGNATURE", http.Header{"Accept": {"*/*"}, "SIGNATURE": {"sig1=:AAAA:"}}, true},
	} {
		if got := mergeKeys(c.h); got != c.want {
			t.Errorf("%s: mergeKeys = %v, want %v", c.name, got, c.want)
		}
		if got := c.h["Signature-Input"] != nil || c.h["Signature"] != nil; got && !c.want {
			t.Errorf("%s: a signature field after mergeKeys reported false", c.name)
		}
	}
}
