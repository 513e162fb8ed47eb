package redact_test

import (
	"errors"
	"fmt"
	"net/url"

	"github.com/securecall/securecall/internal/redact"
)

func ExamplePolicy_URL() {
	p := &redact.Policy{QueryKeys: []string{"page"}}
	u, _ := url.Parse("https://alice:pw@api.example.com/v1/items?page=2&api_key=s3cr3t#top")
	fmt.Println(p.URL(u))
	// Output: https://api.example.com/v1/items?page=2&api_key=REDACTED
}

func ExamplePolicy_Error() {
	sent := errors.New("connection refused")
	err := fmt.Errorf("fetch items: %w",
		&url.Error{Op: "Get", URL: "https://api.example.com/v1/items?api_key=s3cr3t", Err: sent})

	red := (&redact.Policy{}).Error(err)
	fmt.Println(red)
	fmt.Println(errors.Is(red, sent))
	// Output:
	// fetch items: Get "https://api.example.com/v1/items?api_key=REDACTED": connection refused
	// true
}
