package signer

import (
	"strings"
	"testing"
)

// The ConfigErrors for a key id, tag or label that is too long or not
// printable name the option and the rule, never the value: a key id can
// be sensitive, and a secret pasted in its place must not reach a log.
func TestConfigErrorsQuoteNoValue(t *testing.T) {
	const secret = "s3cr3t-cfg-value-0b4d"
	good := []byte("0123456789abcdef0123456789abcdef")
	key, err := NewHMACKey("k1", good)
	if err != nil {
		t.Fatal(err)
	}
	long := secret + strings.Repeat("x", 1100)
	var errs []error
	for _, id := range []string{long, secret + "\r\n", secret + "é"} {
		_, err := NewHMACKey(id, good)
		errs = append(errs, err)
	}
	for _, tag := range []string{long, secret + "\r\n", secret + "é"} {
		_, err := New(Options{Keys: StaticKey(key), Tag: tag, Params: []Param{ParamCreated, ParamKeyID, ParamNonce, ParamTag}})
		errs = append(errs, err)
		_, err = NewVerifier(VerifierOptions{Keys: failLookup{}, Tag: tag})
		errs = append(errs, err)
	}
	for _, label := range []string{strings.Repeat("a", 70) + secret, secret + "A"} {
		_, err := New(Options{Keys: StaticKey(key), Label: label})
		errs = append(errs, err)
		_, err = NewVerifier(VerifierOptions{Keys: failLookup{}, Label: label})
		errs = append(errs, err)
	}
	_, err = NewHMACKey("k1", make([]byte, 32))
	errs = append(errs, err)
	for i, err := range errs {
		if err == nil {
			t.Errorf("case %d: no error", i)
			continue
		}
		if _, ok := err.(*ConfigError); !ok {
			t.Errorf("case %d: %T %v, want a *ConfigError", i, err, err)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("case %d: %q quotes the value", i, err)
		}
	}
}
