package signer

import (
	"errors"
	"strings"
	"testing"
)

// TestNewRefusesParamsWithoutCreatedOrKeyID: Options.Params without
// created or without keyid was accepted, though every Verifier refuses
// such a signature (ErrMissingParameter "created", ErrUnknownKey "no
// keyid") whatever its options: a Signer whose every request is refused,
// found only at the receiving end. New now refuses it as a *ConfigError
// naming Options.Params and the parameter; nonce, which a Verifier with
// AllowMissingNonce does without, may still be left out.
func TestNewRefusesParamsWithoutCreatedOrKeyID(t *testing.T) {
	ks := StaticKey(testKey(t, "k"))
	for _, tc := range []struct {
		params  []Param
		missing string
	}{
		{[]Param{ParamNonce, ParamKeyID}, "created"},
		{[]Param{ParamNonce, ParamKeyID, ParamAlg}, "created"},
		{[]Param{ParamCreated, ParamNonce}, "keyid"},
		{[]Param{ParamCreated, ParamNonce, ParamAlg}, "keyid"},
		{[]Param{ParamNonce}, "created"},
		{[]Param{}, "created"},
	} {
		_, err := New(Options{Keys: ks, Params: tc.params})
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Option != "Options.Params" || !strings.Contains(ce.Error(), tc.missing) {
			t.Errorf("Params %v: New = %v; want a *ConfigError naming Options.Params and %s", tc.params, err, tc.missing)
		}
	}
	// Without nonce (a Verifier with AllowMissingNonce accepts it), and
	// the RFC 9421 vectors' [created, keyid]: accepted.
	for _, params := range [][]Param{{ParamCreated, ParamKeyID}, {ParamKeyID, ParamCreated, ParamAlg}} {
		if _, err := New(Options{Keys: ks, Params: params}); err != nil {
			t.Errorf("Params %v: New = %v; want nil", params, err)
		}
	}
}

// unvalidatedSigner returns a Signer of opts whose parameters are then
// set to params, which New refuses: what another implementation may
// send, for the tests of the Verifier's refusal of it.
func unvalidatedSigner(t testing.TB, opts Options, params ...Param) *Signer {
	t.Helper()
	s := mustSigner(t, opts)
	s.params, s.paramPrefix = params, nil
	for _, p := range params {
		s.paramPrefix = append(s.paramPrefix, ";"+string(p)+"=")
	}
	return s
}
