package signer

import (
	"errors"
	"testing"
)

// TestVerifyIgnoresUnusableMemberOfAnotherLabel: RFC 9421 §3.2 has the
// verifier choose the signature to process by its policy and only then
// parse that signature's parameters (step 4). A syntactically valid
// Signature-Input (or Signature) member under a label the verifier never
// tries, whose content this implementation cannot use (a component it does
// not support, a parameter of another type, a member that is not an inner
// list), must not make it refuse the signature it does verify. The same
// member under the verified label is still refused (fail closed), and a
// Dictionary that does not parse is still refused as a whole (RFC 8941
// §4.2).
func TestVerifyIgnoresUnusableMemberOfAnotherLabel(t *testing.T) {
	k := testKey(t, "k")
	s := mustSigner(t, Options{Keys: StaticKey(k)})
	others := map[string][2]string{
		"unknown derived component": {`other=("@status");created=1;keyid="x"`, `other=:AAAA:`},
		"trailer field":             {`other=("x-total";tr);created=1;keyid="x"`, `other=:AAAA:`},
		"created as a string":       {`other=("@method");created="yesterday";keyid="x"`, `other=:AAAA:`},
		"keyid as a token":          {`other=("@method");keyid=x`, `other=:AAAA:`},
		"not an inner list":         {`other=1`, `other=:AAAA:`},
		"signature not bytes":       {`other=("@method");keyid="x"`, `other="abc"`},
	}
	for name, o := range others {
		t.Run(name, func(t *testing.T) {
			for _, label := range []string{"sig1", ""} {
				v := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k), Label: label})
				r := serverView(t, signed(t, s, "GET", "https://api.example.com/x", "", t0))
				r.Header.Add("Signature-Input", o[0])
				r.Header.Add("Signature", o[1])
				res, err := v.Verify(r, t0)
				if err != nil || res.Label != "sig1" {
					t.Fatalf("Label %q: Verify = %+v, %v; want sig1 accepted", label, res, err)
				}
			}
			// The unusable member under the label the verifier asks for:
			// refused, as malformed.
			v := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k), Label: "other"})
			r := serverView(t, signed(t, s, "GET", "https://api.example.com/x", "", t0))
			r.Header.Add("Signature-Input", o[0])
			r.Header.Add("Signature", o[1])
			if res, err := v.Verify(r, t0); !errors.Is(err, ErrMalformed) {
				t.Fatalf("Label other: Verify = %+v, %v; want ErrMalformed", res, err)
			}
		})
	}

	// Only unusable members and no Label: refused as malformed.
	v := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k)})
	r := serverView(t, signed(t, s, "GET", "https://api.example.com/x", "", t0))
	r.Header.Set("Signature-Input", `sig1=("@status");created=1;keyid="k"`)
	if res, err := v.Verify(r, t0); !errors.Is(err, ErrMalformed) {
		t.Fatalf("only member unusable: Verify = %+v, %v; want ErrMalformed", res, err)
	}

	// A Dictionary that does not parse fails as a whole.
	for _, bad := range []string{`other=("@method"`, `Other=("@method")`} {
		r := serverView(t, signed(t, s, "GET", "https://api.example.com/x", "", t0))
		r.Header.Add("Signature-Input", bad)
		v := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k), Label: "sig1"})
		if res, err := v.Verify(r, t0); !errors.Is(err, ErrMalformed) {
			t.Fatalf("%s: Verify = %+v, %v; want ErrMalformed", bad, res, err)
		}
	}

	// Unusable members still count towards MaxSignatures.
	r = serverView(t, signed(t, s, "GET", "https://api.example.com/x", "", t0))
	for i := range MaxSignatures {
		r.Header.Add("Signature-Input", "o"+string(rune('a'+i))+`=1`)
	}
	v = newTestVerifier(t, VerifierOptions{Keys: StaticKey(k), Label: "sig1"})
	if res, err := v.Verify(r, t0); !errors.Is(err, ErrMalformed) {
		t.Fatalf("too many members: Verify = %+v, %v; want ErrMalformed", res, err)
	}
}
