// Package oauth2 holds securecall's tests against a real OAuth2
// authorization server: github.com/ory/fosite, the engine inside Ory Hydra,
// embedded on httptest. It is a separate module so that fosite and its
// dependencies never reach the go.mod of a service that imports securecall.
//
// Run with: cd tests/oauth2 && go test -race ./...
package oauth2
