package client_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/tokens/keyring"
	"github.com/securecall/securecall/transport"
)

// TestDocsDefaultsMatchConstants extends TestConfigurationDocDefaultsMatchConstants
// to every page but performance.md (a log of measurements): each default a
// page quotes next to its constant ("`DefaultMaxAge` | 60 s", "1000
// (`DefaultInventoryMaxEntries`)", "(`DefaultAssertionLifetime`, 1 min)",
// "`DefaultMaxSize` (64 KiB") matches the constant, and so does each
// default a page gives an option or field whose name says which constant it
// is ("`WithRefreshTimeout` (default 30 s", "`MinAttemptTime` (default
// 50 ms"). A changed constant would otherwise leave the signing, token,
// secret and inventory pages quoting the old value.
func TestDocsDefaultsMatchConstants(t *testing.T) {
	consts := map[string]int64{
		// transport (those configuration.md quotes are checked there too).
		"DefaultMaxRedirects":                transport.DefaultMaxRedirects,
		"DefaultCertificateReloadInterval":   int64(transport.DefaultCertificateReloadInterval),
		"DefaultDialTimeout":                 int64(transport.DefaultDialTimeout),
		"DefaultKeepAlive":                   int64(transport.DefaultKeepAlive),
		"DefaultTLSHandshakeTimeout":         int64(transport.DefaultTLSHandshakeTimeout),
		"DefaultIdleConnTimeout":             int64(transport.DefaultIdleConnTimeout),
		"DefaultMaxIdleConnsPerHost":         transport.DefaultMaxIdleConnsPerHost,
		"DefaultHTTP2ReadIdleTimeout":        int64(transport.DefaultHTTP2ReadIdleTimeout),
		"DefaultMaxResponseBodyBytes":        transport.DefaultMaxResponseBodyBytes,
		"DefaultMaxResponseHeaderBytes":      transport.DefaultMaxResponseHeaderBytes,
		"DefaultInventoryMaxEntries":         transport.DefaultInventoryMaxEntries,
		"DefaultInventoryMaxOverflowOrigins": transport.DefaultInventoryMaxOverflowOrigins,
		"DefaultMaxHosts":                    transport.DefaultMaxHosts,
		"DefaultMinAttemptTime":              int64(transport.DefaultMinAttemptTime),
		"DefaultMaxDrain":                    transport.DefaultMaxDrain,
		"DefaultBudgetMinRetries":            transport.DefaultBudgetMinRetries,
		"DefaultBudgetWindow":                int64(transport.DefaultBudgetWindow),
		"DefaultBreakerMinRequests":          transport.DefaultBreakerMinRequests,
		"DefaultBreakerConsecutiveFailures":  transport.DefaultBreakerConsecutiveFailures,
		"DefaultThrottleRecoveryInterval":    int64(transport.DefaultThrottleRecoveryInterval),
		"DefaultRetryMaxAttempts":            transport.DefaultRetryMaxAttempts,
		"DefaultRetryBaseDelay":              int64(transport.DefaultRetryBaseDelay),
		"DefaultRetryMaxDelay":               int64(transport.DefaultRetryMaxDelay),
		"DefaultMaxRetryAfter":               int64(transport.DefaultMaxRetryAfter),
		"DefaultThrottleMaxWait":             int64(transport.DefaultThrottleMaxWait),
		"DefaultBreakerWindow":               int64(transport.DefaultBreakerWindow),
		"DefaultBreakerOpenTimeout":          int64(transport.DefaultBreakerOpenTimeout),
		"DefaultBreakerProbeTimeout":         int64(transport.DefaultBreakerProbeTimeout),
		"DefaultMaxAge":                      int64(signer.DefaultMaxAge),
		"DefaultClockSkew":                   int64(signer.DefaultClockSkew),
		"DefaultMaxBodySize":                 signer.DefaultMaxBodySize,
		"DefaultNonceCapacity":               signer.DefaultNonceCapacity,
		"DefaultNonceMaxRetention":           int64(signer.DefaultNonceMaxRetention),
		"DefaultNonceSize":                   signer.DefaultNonceSize,
		"DefaultEarlyRefresh":                int64(tokens.DefaultEarlyRefresh),
		"DefaultExpiryMargin":                int64(tokens.DefaultExpiryMargin),
		"DefaultRefreshTimeout":              int64(tokens.DefaultRefreshTimeout),
		"DefaultMinBackoff":                  int64(tokens.DefaultMinBackoff),
		"DefaultMaxBackoff":                  int64(tokens.DefaultMaxBackoff),
		"DefaultReadTimeout":                 int64(tokens.DefaultReadTimeout),
		"DefaultAssertionLifetime":           int64(tokens.DefaultAssertionLifetime),
		"DefaultMaxFileSize":                 tokens.DefaultMaxFileSize,
		"DefaultTokenRequestTimeout":         int64(tokens.DefaultTokenRequestTimeout),
		"DefaultMaxSize":                     keyring.DefaultMaxSize,
		"DefaultTimeout":                     int64(keyring.DefaultTimeout),
	}
	// Options and fields a page gives "(default value" that stand for one
	// constant, by page (a name such as MaxBodyBytes or WithTimeout means
	// different things on different pages).
	named := map[string]map[string]string{
		"tokens.md": {
			"WithEarlyRefresh":   "DefaultEarlyRefresh",
			"WithExpiryMargin":   "DefaultExpiryMargin",
			"WithRefreshTimeout": "DefaultRefreshTimeout",
			"WithBackoff":        "DefaultMinBackoff",
		},
		"secrets.md": {
			"WithTimeout":     "DefaultTimeout",
			"WithReadTimeout": "DefaultReadTimeout",
		},
		"resilience.md": {"MinAttemptTime": "DefaultMinAttemptTime"},
		"signing.md":    {"MaxBodySize": "DefaultMaxBodySize"},
	}

	const pkg = "(?:transport\\.|signer\\.|tokens\\.|keyring\\.|client\\.)?"
	after := regexp.MustCompile("`" + pkg + "(Default[A-Za-z0-9]+)`(?: \\||,| =| \\() ?" + quantityRE)
	before := regexp.MustCompile(quantityRE + " \\(`" + pkg + "(Default[A-Za-z0-9]+)`")
	withDefault := regexp.MustCompile("`" + pkg + "([A-Za-z0-9]+)(?:\\([^`]*\\))?`,? \\(?default " + quantityRE)

	pages, err := filepath.Glob(filepath.Join("..", "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	pages = append(pages, filepath.Join("..", "README.md"))
	checked := 0
	check := func(page, name, num, unit, what string) {
		want, ok := consts[name]
		if !ok {
			t.Errorf("%s quotes %s = %s %s: add the constant to this test", page, name, num, unit)
			return
		}
		checked++
		if got := docQuantity(t, num, unit); got != want {
			t.Errorf("%s: %s is %s, the constant %s is %v", page, what, strings.TrimSpace(num+" "+unit), name, codeQuantity(unit, want))
		}
	}
	for _, path := range pages {
		page := filepath.Base(path)
		if page == "performance.md" {
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		doc := strings.Join(strings.Fields(string(b)), " ")
		for _, m := range after.FindAllStringSubmatch(doc, -1) {
			check(page, m[1], m[2], m[3], m[1])
		}
		for _, m := range before.FindAllStringSubmatch(doc, -1) {
			check(page, m[3], m[1], m[2], m[3])
		}
		for _, m := range withDefault.FindAllStringSubmatch(doc, -1) {
			if c, ok := named[page][m[1]]; ok {
				check(page, c, m[2], m[3], m[1]+"'s default")
			}
		}
	}
	t.Logf("%d defaults checked", checked)
	if checked < 25 {
		t.Fatalf("checked %d defaults in the docs: the patterns went wrong", checked)
	}
}
