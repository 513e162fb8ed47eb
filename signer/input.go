package signer

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/dunglas/httpsfv"
)

// SignatureInput is one member of a Signature-Input field: the label, the
// covered components and the signature parameters (RFC 9421 §4.1).
type SignatureInput struct {
	Label      string
	Components []Component
	// Created and Expires are the created and expires parameters; the zero
	// time when absent.
	Created time.Time
	Expires time.Time
	// Nonce, KeyID, Alg and Tag are the parameters of those names; empty
	// when absent (an alg that is present but empty is ErrMalformed, so an
	// empty Alg always means no alg parameter).
	Nonce string
	KeyID string
	Alg   Algorithm
	Tag   string

	// params is the serialised inner list, the @signature-params value.
	params string
}

// SignatureParams returns the serialised @signature-params value: the
// inner list with its parameters, exactly as signed.
func (in *SignatureInput) SignatureParams() string { return in.params }

// ParseSignatureInput parses Signature-Input field values (several field
// lines form one Dictionary, of at most MaxSignatureFieldSize bytes) into
// its members, in order. Each member must
// be an inner list of at most MaxComponents valid component identifiers
// without duplicates; created and expires must be non-negative integers
// and nonce, keyid, alg and tag strings (alg not empty). Unknown parameters are kept in SignatureParams (they are
// signed) but otherwise ignored. Errors wrap ErrMalformed.
//
// It refuses the whole field when any member is unusable. A Verifier is
// more lenient (RFC 9421 §3.2): a member it can parse the Dictionary of but
// not use fails only as that signature, so a signature under another label
// that it never verifies cannot make it refuse the one it does.
func ParseSignatureInput(values ...string) ([]SignatureInput, error) {
	ms, err := parseInputMembers(values)
	if err != nil {
		return nil, err
	}
	out := make([]SignatureInput, 0, len(ms))
	for _, m := range ms {
		if m.err != nil {
			return nil, m.err
		}
		out = append(out, m.in)
	}
	return out, nil
}

// inputMember is one member of a Signature-Input Dictionary: the parsed
// input, or (err not nil, in.Label set) why the member cannot be used.
type inputMember struct {
	in  SignatureInput
	err error
}

// parseInputMembers parses the Signature-Input Dictionary. A Dictionary
// that does not parse is an error as a whole (RFC 8941 §4.2); a member
// that parses but is not a usable signature input carries its own error.
func parseInputMembers(values []string) ([]inputMember, error) {
	if fieldSize(values) > MaxSignatureFieldSize {
		return nil, fmt.Errorf("%w: signature-input: larger than %d bytes", ErrMalformed, MaxSignatureFieldSize)
	}
	d, err := httpsfv.UnmarshalDictionary(values)
	if err != nil {
		return nil, fmt.Errorf("%w: signature-input: %v", ErrMalformed, err)
	}
	names := d.Names()
	out := make([]inputMember, 0, len(names))
	for _, label := range names {
		m, _ := d.Get(label)
		il, ok := m.(httpsfv.InnerList)
		if !ok {
			out = append(out, inputMember{in: SignatureInput{Label: label},
				err: fmt.Errorf("%w: signature-input %q: not an inner list", ErrMalformed, label)})
			continue
		}
		in, err := inputFromInnerList(label, il)
		if err != nil {
			in.Label = label
		}
		out = append(out, inputMember{in: in, err: err})
	}
	return out, nil
}

func inputFromInnerList(label string, il httpsfv.InnerList) (SignatureInput, error) {
	in := SignatureInput{Label: label}
	bad := func(format string, args ...any) (SignatureInput, error) {
		return SignatureInput{}, fmt.Errorf("%w: signature-input %q: %s", ErrMalformed, label, fmt.Sprintf(format, args...))
	}
	if len(il.Items) > MaxComponents {
		return bad("more than %d components", MaxComponents)
	}
	for _, it := range il.Items {
		c, err := componentFromItem(it)
		if err != nil {
			return SignatureInput{}, fmt.Errorf("signature-input %q: %w", label, err)
		}
		for _, prev := range in.Components {
			if prev.Equal(c) {
				return bad("duplicate component %s", c.id)
			}
		}
		in.Components = append(in.Components, c)
	}
	if il.Params != nil {
		for _, pn := range il.Params.Names() {
			v, _ := il.Params.Get(pn)
			switch pn {
			case "created", "expires":
				n, ok := v.(int64)
				if !ok || n < 0 {
					return bad("%s must be a non-negative integer", pn)
				}
				if pn == "created" {
					in.Created = time.Unix(n, 0)
				} else {
					in.Expires = time.Unix(n, 0)
				}
			case "nonce", "keyid", "alg", "tag":
				s, ok := v.(string)
				if !ok {
					return bad("%s must be a string", pn)
				}
				switch pn {
				case "nonce":
					in.Nonce = s
				case "keyid":
					in.KeyID = s
				case "alg":
					// An empty alg names no algorithm: taken as absent,
					// it would pass the verifier's check against the key.
					if s == "" {
						return bad("alg is empty")
					}
					in.Alg = Algorithm(s)
				case "tag":
					in.Tag = s
				}
			}
		}
	}
	p, err := httpsfv.Marshal(il)
	if err != nil {
		return bad("%v", err)
	}
	in.params = p
	return in, nil
}

// ParseSignature parses Signature field values (at most
// MaxSignatureFieldSize bytes) into a map from label to signature bytes.
// Every member must be a Byte Sequence. Errors wrap
// ErrMalformed.
func ParseSignature(values ...string) (map[string][]byte, error) {
	ms, err := parseSignatureMembers(values)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(ms))
	for _, label := range slices.Sorted(maps.Keys(ms)) {
		m := ms[label]
		if m.err != nil {
			return nil, m.err
		}
		out[label] = m.sig
	}
	return out, nil
}

// sigMember is one member of a Signature Dictionary: the signature bytes,
// or why the member is not a signature.
type sigMember struct {
	sig []byte
	err error
}

// parseSignatureMembers parses the Signature Dictionary; as with
// parseInputMembers, a member that is not a Byte Sequence carries its own
// error and only a Dictionary that does not parse fails as a whole.
func parseSignatureMembers(values []string) (map[string]sigMember, error) {
	if fieldSize(values) > MaxSignatureFieldSize {
		return nil, fmt.Errorf("%w: signature: larger than %d bytes", ErrMalformed, MaxSignatureFieldSize)
	}
	d, err := httpsfv.UnmarshalDictionary(values)
	if err != nil {
		return nil, fmt.Errorf("%w: signature: %v", ErrMalformed, err)
	}
	names := d.Names()
	out := make(map[string]sigMember, len(names))
	for _, label := range names {
		m, _ := d.Get(label)
		it, ok := m.(httpsfv.Item)
		if !ok {
			out[label] = sigMember{err: fmt.Errorf("%w: signature %q: not an item", ErrMalformed, label)}
			continue
		}
		b, ok := it.Value.([]byte)
		if !ok {
			out[label] = sigMember{err: fmt.Errorf("%w: signature %q: not a byte sequence", ErrMalformed, label)}
			continue
		}
		out[label] = sigMember{sig: b}
	}
	return out, nil
}

// fieldSize is the length of the field lines values joined with ", ", as
// they are parsed.
func fieldSize(values []string) int {
	n := 0
	for i, v := range values {
		if i > 0 {
			n += 2
		}
		n += len(v)
	}
	return n
}
