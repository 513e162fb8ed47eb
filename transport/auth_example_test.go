package transport_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// The auth layer puts the token on requests to its origins only, and
// recovers from a 401 by dropping that token and replaying once.
func ExampleNewAuth() {
	n := 0
	src := tokens.SourceFunc(func(context.Context) (tokens.Token, error) {
		n++ // in a service: tokens.NewClientCredentials(...)
		return tokens.NewToken(fmt.Sprintf("t%d", n), "Bearer", time.Now().Add(time.Hour)), nil
	})
	cache, _ := tokens.NewCache(src)
	origins, _ := transport.ParseOrigins("https://api.example.test")

	// The fake API rejects the first token (revoked), then accepts.
	next := transporttest.NewResponder(
		transporttest.Respond(401, "", "WWW-Authenticate", `Bearer error="invalid_token"`),
		transporttest.Respond(200, "ok"),
	)
	rt, err := transport.NewAuth(next, transport.AuthConfig{Source: cache, Scope: origins})
	if err != nil {
		panic(err)
	}
	for _, u := range []string{"https://api.example.test/v1/items", "https://elsewhere.example.test/"} {
		req, _ := http.NewRequest("GET", u, nil)
		resp, err := rt.RoundTrip(req)
		if err != nil {
			panic(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		fmt.Println(u, resp.StatusCode)
	}
	for _, r := range next.Requests() {
		fmt.Printf("%s Authorization=%q\n", r.URL.Host, r.Header.Get("Authorization"))
	}
	// Output:
	// https://api.example.test/v1/items 200
	// https://elsewhere.example.test/ 200
	// api.example.test Authorization="Bearer t1"
	// api.example.test Authorization="Bearer t2"
	// elsewhere.example.test Authorization=""
}
