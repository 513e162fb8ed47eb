package tokens

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

const secretValue = "s3cr3t-access-token-value"

func TestTokenNeverPrintsValue(t *testing.T) {
	tok := NewToken(secretValue, "Bearer", time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	type holder struct {
		name string
		tok  Token // unexported: fmt prints it by reflection, not via String
	}
	type exported struct{ Tok Token }
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %v"} {
		outs = append(outs, fmt.Sprintf(verb, tok))
		outs = append(outs, fmt.Sprintf(verb, holder{"h", tok}))
		outs = append(outs, fmt.Sprintf(verb, &holder{"h", tok}))
		outs = append(outs, fmt.Sprintf(verb, exported{tok}))
		outs = append(outs, fmt.Sprintf(verb, []Token{tok}))
		outs = append(outs, fmt.Sprintf(verb, map[string]Token{"k": tok}))
	}
	outs = append(outs, fmt.Sprint(tok), fmt.Sprintln(tok), tok.String(), tok.GoString())

	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("got", "token", tok, "holder", holder{"h", tok})
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("got", "token", tok)
	outs = append(outs, logBuf.String())

	for _, v := range []any{tok, exported{tok}, map[string]Token{"k": tok}} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, string(b))
	}
	txt, _ := tok.MarshalText()
	outs = append(outs, string(txt))

	for _, o := range outs {
		if strings.Contains(o, secretValue) || strings.Contains(o, fmt.Sprintf("%x", secretValue)) {
			t.Errorf("output leaks the token value: %s", o)
		}
	}
	if !strings.Contains(fmt.Sprintf("%v", tok), "[REDACTED]") || !strings.Contains(logBuf.String(), "[REDACTED]") {
		t.Errorf("redacted marker missing: %v / %s", tok, logBuf.String())
	}
	if !strings.Contains(fmt.Sprintf("%#v", tok), `Type:"Bearer"`) {
		t.Errorf("GoString lost the type: %#v", tok)
	}
}

func TestTokenAccessors(t *testing.T) {
	exp := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	tok := NewToken("abc", "Bearer", exp)
	if tok.Value() != "abc" || tok.Type() != "Bearer" || tok.HeaderValue() != "Bearer abc" || !tok.Expiry().Equal(exp) {
		t.Fatalf("accessors: %q %q %q %v", tok.Value(), tok.Type(), tok.HeaderValue(), tok.Expiry())
	}
	if key := NewToken("k", "", time.Time{}); key.HeaderValue() != "k" || key.ExpiredAt(exp.Add(1e6*time.Hour)) {
		t.Fatalf("api key token: %q expired=%v", key.HeaderValue(), key.ExpiredAt(exp))
	}
	if tok.ExpiredAt(exp.Add(-time.Nanosecond)) || !tok.ExpiredAt(exp) {
		t.Fatal("ExpiredAt boundary wrong")
	}
	var zero Token
	if !zero.IsZero() || !zero.ExpiredAt(time.Time{}) || zero.Value() != "" || zero.HeaderValue() != "" || zero.String() != "<no token>" {
		t.Fatal("zero token accessors wrong")
	}
	if !NewToken("", "Bearer", exp).IsZero() {
		t.Fatal("empty value must give the zero token")
	}
	if !tok.Equal(NewToken("abc", "Bearer", exp.Add(time.Hour))) || tok.Equal(NewToken("abd", "Bearer", exp)) || tok.Equal(zero) || !zero.Equal(Token{}) {
		t.Fatal("Equal compares values")
	}
	if n := testing.AllocsPerRun(100, func() { _ = tok.HeaderValue() }); n != 0 {
		t.Fatalf("HeaderValue allocates %v times", n)
	}
}

func TestStatic(t *testing.T) {
	tok := NewToken("k", "", time.Time{})
	got, err := Static(tok).Token(context.Background())
	if err != nil || !got.Equal(tok) {
		t.Fatalf("Static: %v %v", got, err)
	}
	if _, err := Static(Token{}).Token(context.Background()); !errors.Is(err, ErrNoToken) {
		t.Fatalf("Static(zero): %v", err)
	}
}
