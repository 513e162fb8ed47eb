package signer

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/dunglas/httpsfv"
)

// hostileMembers returns a Signature-Input of MaxSignatures members, each
// covering MaxComponents components made by comp(label, i), and a Signature
// with a wrong MAC for each: what anyone who knows a keyid (it is sent in
// every signed request) can send.
func hostileMembers(comp func(l, i int) string) (input, sig string) {
	var ins, sigs []string
	for l := range MaxSignatures {
		var b strings.Builder
		for i := range MaxComponents {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(comp(l, i))
		}
		label := "s" + strconv.Itoa(l)
		ins = append(ins, label+"=("+b.String()+");created="+strconv.FormatInt(t0.Unix(), 10)+`;keyid="k";nonce="n"`)
		sigs = append(sigs, label+"=:"+strings.Repeat("A", 43)+"=:")
	}
	return strings.Join(ins, ", "), strings.Join(sigs, ", ")
}

// TestVerifyParsesEachFieldAndQueryOnce: building a signature base re-parsed
// a Dictionary field for every ;key= component and re-scanned the query for
// every @query-param component, so a request with MaxSignatures members of
// MaxComponents such components (512 of them) over a large field or query
// cost 512 parses of it before the MAC was checked: with a 900 KB field
// within net/http's 1 MiB header limit, minutes of CPU per request, for
// anyone who knows a keyid. Each is parsed once per request now; the
// allocations (counted, not timed) show it.
func TestVerifyParsesEachFieldAndQueryOnce(t *testing.T) {
	v := newTestVerifier(t, VerifierOptions{Required: []Component{}})

	t.Run("key", func(t *testing.T) {
		var f strings.Builder
		for i := range 500 {
			if i > 0 {
				f.WriteString(", ")
			}
			f.WriteString("m" + strconv.Itoa(i) + "=1")
		}
		in, sig := hostileMembers(func(l, i int) string { return `"x";key="m` + strconv.Itoa(l*MaxComponents+i) + `"` })
		r := httptest.NewRequest("GET", "https://api.example.com/", nil)
		r.Header.Set("X", f.String())
		r.Header.Set("Signature-Input", in)
		r.Header.Set("Signature", sig)
		if _, err := v.Verify(r, t0); !errors.Is(err, ErrInvalidSignature) {
			t.Fatalf("Verify = %v; want ErrInvalidSignature", err)
		}
		one := testing.AllocsPerRun(5, func() { _, _ = httpsfv.UnmarshalDictionary([]string{f.String()}) })
		got := testing.AllocsPerRun(5, func() { _, _ = v.Verify(r, t0) })
		// One parse, plus a few allocations per component (512 of them);
		// a parse per component is 512 times one.
		if got > 10*one {
			t.Errorf("Verify allocated %.0f times; one parse of the field allocates %.0f: the field is parsed again per component", got, one)
		}
	})

	t.Run("query-param", func(t *testing.T) {
		// Each pair's name is invalid UTF-8, which costs an allocation per
		// pair and scan.
		q := strings.Repeat("%FF=1&", 1000)
		in, sig := hostileMembers(func(l, i int) string { return `"@query-param";name="q` + strconv.Itoa(l*MaxComponents+i) + `"` })
		r := httptest.NewRequest("GET", "https://api.example.com/?"+q+"q0=1", nil)
		r.Header.Set("Signature-Input", in)
		r.Header.Set("Signature", sig)
		if _, err := v.Verify(r, t0); !errors.Is(err, ErrMissingComponent) {
			t.Fatalf("Verify = %v; want ErrMissingComponent", err)
		}
		// All names present: each member scans the query 64 times.
		var qs strings.Builder
		qs.WriteString(q)
		for i := range MaxSignatures * MaxComponents {
			qs.WriteString("&q" + strconv.Itoa(i) + "=1")
		}
		r = httptest.NewRequest("GET", "https://api.example.com/?"+qs.String(), nil)
		r.Header.Set("Signature-Input", in)
		r.Header.Set("Signature", sig)
		if _, err := v.Verify(r, t0); !errors.Is(err, ErrInvalidSignature) {
			t.Fatalf("Verify = %v; want ErrInvalidSignature", err)
		}
		got := testing.AllocsPerRun(5, func() { _, _ = v.Verify(r, t0) })
		if got > 20_000 {
			t.Errorf("Verify allocated %.0f times for a query of 1000 invalid names: the query is scanned again per component", got)
		}
	})
}

// TestVerifyBoundsSignatureFieldSize: MaxSignatures and MaxComponents were
// checked only after the Signature-Input and Signature Dictionaries had
// been parsed whole, and parsing allocates per member, item and parameter:
// one unauthenticated request of 900 KB of Signature-Input ("sig1=("a" "a"
// ...)") cost over a second of CPU before it was refused. Fields larger
// than MaxSignatureFieldSize are refused before they are parsed; a large
// but legitimate field (MaxSignatures members, 64 components each, and a
// post-quantum-sized signature under another label) still verifies.
func TestVerifyBoundsSignatureFieldSize(t *testing.T) {
	v := newTestVerifier(t, VerifierOptions{Required: []Component{}})
	for name, c := range map[string]struct{ in, sig string }{
		"items":  {"sig1=(" + strings.Repeat(`"a" `, 50_000) + ")", "sig1=:" + strings.Repeat("A", 43) + "=:"},
		"labels": {"sig1=(\"@method\");created=1" + numbered(", a", "=()", 20_000), "sig1=:" + strings.Repeat("A", 43) + "=:"},
		"params": {`sig1=("@method")` + numbered(";p", "", 20_000), "sig1=:" + strings.Repeat("A", 43) + "=:"},
		"sig":    {`sig1=("@method")`, "sig1=:AA==:" + numbered(", a", "=:AA==:", 20_000)},
	} {
		r := httptest.NewRequest("GET", "https://api.example.com/", nil)
		r.Header.Set("Signature-Input", c.in)
		r.Header.Set("Signature", c.sig)
		if _, err := v.Verify(r, t0); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: Verify = %v; want ErrMalformed", name, err)
		}
		if n := testing.AllocsPerRun(3, func() { _, _ = v.Verify(r, t0) }); n > 50 {
			t.Errorf("%s: Verify allocated %.0f times: the field was parsed", name, n)
		}
	}

	// Large but legitimate: MaxSignatures members of MaxComponents
	// components with 40-byte field names; ours verifies among them.
	k := testKey(t, "k")
	s := mustSigner(t, Options{Keys: StaticKey(k), Label: "ours"})
	req := signed(t, s, "GET", "https://api.example.com/x", "", t0)
	ins, sigs := req.Header.Values("Signature-Input"), req.Header.Values("Signature")
	for l := range MaxSignatures - 1 {
		var b strings.Builder
		for i := range MaxComponents {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(`"x-` + strings.Repeat("f", 36) + strconv.Itoa(100+i) + `"`)
		}
		label := "other" + strconv.Itoa(l)
		ins = append(ins, label+"=("+b.String()+`);created=1;keyid="elsewhere"`)
		sigs = append(sigs, label+"=:"+strings.Repeat("A", 6_200)+":") // ML-DSA-87 size
	}
	r := serverView(t, req)
	r.Header["Signature-Input"] = []string{strings.Join(ins, ", ")}
	r.Header["Signature"] = []string{strings.Join(sigs, ", ")}
	if n := len(r.Header["Signature-Input"][0]); n < 20_000 {
		t.Fatalf("Signature-Input of %d bytes; the test wants a large one", n)
	}
	v = newTestVerifier(t, VerifierOptions{Keys: StaticKey(k), Label: "ours"})
	if _, err := v.Verify(r, t0); err != nil {
		t.Errorf("Verify(large legitimate fields) = %v", err)
	}
}

// numbered returns n copies of prefix+i+suffix, i counting from 0.
func numbered(prefix, suffix string, n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(prefix + strconv.Itoa(i) + suffix)
	}
	return b.String()
}

// TestVerifyBoundsStructuredFieldSize: a ;key= or ;sf component makes the
// verifier parse the field as a structured field before the MAC is
// checked, and parsing allocates per member: anyone who knows a keyid
// could have a field near net/http's 1 MiB header limit parsed on every
// request (half a second of CPU for 900 KB). A field over
// MaxStructuredFieldSize fails such a signature as malformed unparsed;
// the same field covered plainly still verifies.
func TestVerifyBoundsStructuredFieldSize(t *testing.T) {
	big := "m0=1" + numbered(", m", "=1", 20_000)
	if len(big) <= MaxStructuredFieldSize {
		t.Fatalf("field of %d bytes; the test wants one over the cap", len(big))
	}
	v := newTestVerifier(t, VerifierOptions{Required: []Component{}, StructuredFields: map[string]FieldType{"x": SFDictionary}})
	for _, comp := range []string{`"x";key="m1"`, `"x";sf`} {
		r := httptest.NewRequest("GET", "https://api.example.com/", nil)
		r.Header.Set("X", big)
		r.Header.Set("Signature-Input", "sig1=("+comp+");created="+strconv.FormatInt(t0.Unix(), 10)+`;keyid="k";nonce="n"`)
		r.Header.Set("Signature", "sig1=:"+strings.Repeat("A", 43)+"=:")
		if _, err := v.Verify(r, t0); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: Verify = %v; want ErrMalformed", comp, err)
		}
		if n := testing.AllocsPerRun(3, func() { _, _ = v.Verify(r, t0) }); n > 200 {
			t.Errorf("%s: Verify allocated %.0f times: the field was parsed", comp, n)
		}
	}

	k := testKey(t, "k")
	for _, c := range []Component{Field("x"), FieldKey("x", "m1")} {
		s := mustSigner(t, Options{Keys: StaticKey(k), Components: []Component{Method, c}})
		req, _ := http.NewRequest("GET", "https://api.example.com/", nil)
		if c.hasKey {
			req.Header.Set("X", "m0=1, m1=2") // small: verifies
		} else {
			req.Header.Set("X", big) // covered plainly: not parsed
		}
		if err := s.Sign(context.Background(), req, t0); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(serverView(t, req), t0); err != nil {
			t.Errorf("%s: Verify = %v", c, err)
		}
	}
}
