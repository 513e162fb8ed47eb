package client_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/signer"
)

func hmacKeys(t *testing.T) interface {
	signer.KeySource
	signer.KeyLookup
} {
	t.Helper()
	k, err := signer.NewHMACKey("client-1", bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return signer.StaticKey(k)
}

// TestSignedRequestsVerifyAndForeignHopsAreUnsigned: the client's requests
// pass a real Verifier (with a replay store); a hop to an allowed foreign
// origin carries no signature.
func TestSignedRequestsVerifyAndForeignHopsAreUnsigned(t *testing.T) {
	keys := hmacKeys(t)
	v, err := signer.NewVerifier(signer.VerifierOptions{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	var foreignSig atomic.Value
	foreignSig.Store("unset")
	foreign := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		foreignSig.Store(r.Header.Get("Signature") + r.Header.Get("Signature-Input"))
	}))
	defer foreign.Close()
	foreignOrigin := localhostURL(foreign.URL)
	var verified atomic.Int32
	own := newTLSServer(t, v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		verified.Add(1)
		if r.URL.Path == "/away" {
			http.Redirect(w, r, foreignOrigin+"/landing", http.StatusFound)
			return
		}
		io.Copy(io.Discard, r.Body)
	})))
	defer own.Close()

	c, err := client.New(opts(loopback(),
		client.WithOrigins(own.URL),
		client.WithRedirectOrigins(foreignOrigin),
		client.WithHMACSigning(keys),
	)...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	for _, body := range []string{"", `{"a":1}`} {
		req, _ := http.NewRequest(http.MethodPost, own.URL+"/v1/items?x=1", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("signed request refused by the verifier: %s", resp.Status)
		}
		if req.Header.Get("Signature") != "" {
			t.Fatal("the caller's request was modified")
		}
	}
	req, _ := http.NewRequest(http.MethodGet, own.URL+"/away", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := foreignSig.Load().(string); got != "" {
		t.Fatalf("foreign hop received a signature: %q", got)
	}
	if verified.Load() != 3 {
		t.Fatalf("verifier passed %d requests, want 3", verified.Load())
	}
}

func TestSigningRequiresOrigins(t *testing.T) {
	_, err := client.New(client.WithHMACSigning(hmacKeys(t)))
	var ce *client.ConfigError
	if !errors.As(err, &ce) || ce.Option != "WithOrigins" {
		t.Fatalf("err = %v, want a ConfigError naming WithOrigins", err)
	}
	_, err = client.New(client.WithOrigins("https://a.example.test"), client.WithHMACSigning(nil))
	if !errors.As(err, &ce) || ce.Option != "WithHMACSigning" {
		t.Fatalf("err = %v, want a ConfigError naming WithHMACSigning", err)
	}
	_, err = client.New(client.WithOrigins("https://a.example.test"), client.WithSigner(nil))
	if !errors.As(err, &ce) || ce.Option != "WithSigner" {
		t.Fatalf("err = %v, want a ConfigError naming WithSigner", err)
	}
}
