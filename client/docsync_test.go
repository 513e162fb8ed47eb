package client_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/transport"
)

// readDoc returns the text of docs/name, its whitespace runs (line breaks
// included) folded into one space when fold is set.
func readDoc(t *testing.T, name string, fold bool) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "docs", name))
	if err != nil {
		t.Fatal(err)
	}
	if fold {
		return strings.Join(strings.Fields(string(b)), " ")
	}
	return string(b)
}

// exportedDecls parses the non-test Go files of dir and returns the names
// of its exported top-level functions, variables and types.
func exportedDecls(t *testing.T, dir string) (funcs, vars, types []string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil && d.Name.IsExported() {
					funcs = append(funcs, d.Name.Name)
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.ValueSpec:
						if d.Tok == token.VAR {
							for _, n := range s.Names {
								if n.IsExported() {
									vars = append(vars, n.Name)
								}
							}
						}
					case *ast.TypeSpec:
						if s.Name.IsExported() {
							types = append(types, s.Name.Name)
						}
					}
				}
			}
		}
	}
	return funcs, vars, types
}

// TestConfigurationDocNamesEveryOption checks that docs/configuration.md,
// "every option, its default", has a row or a mention for each option
// package client exports, and names no option the package does not have.
func TestConfigurationDocNamesEveryOption(t *testing.T) {
	doc := readDoc(t, "configuration.md", false)
	funcs, _, _ := exportedDecls(t, ".")
	opts := map[string]bool{}
	for _, f := range funcs {
		if strings.HasPrefix(f, "With") {
			opts[f] = true
			if !strings.Contains(doc, "`"+f+"(") && !strings.Contains(doc, "`"+f+"`") {
				t.Errorf("docs/configuration.md does not name client.%s", f)
			}
		}
	}
	if len(opts) < 40 {
		t.Fatalf("found %d options in package client: the parse went wrong", len(opts))
	}
	// context's functions the page names in passing.
	other := map[string]bool{"WithTimeoutCause": true, "WithCancelCause": true, "WithDeadlineCause": true}
	for _, m := range regexp.MustCompile("`(With[A-Za-z0-9]*)").FindAllStringSubmatch(doc, -1) {
		if !opts[m[1]] && !other[m[1]] {
			t.Errorf("docs/configuration.md names %s, which package client does not export", m[1])
		}
	}
}

// docQuantity reads a number with its unit as the docs write it ("30 s",
// "200 ms", "2 min", "16 MiB", "100 000", "10 hops") and returns it in
// the unit of the constant it stands for (a time.Duration's nanoseconds,
// bytes, a count).
func docQuantity(t *testing.T, num, unit string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(strings.ReplaceAll(num, " ", ""), 10, 64)
	if err != nil {
		t.Fatalf("number %q: %v", num, err)
	}
	switch unit {
	case "ms":
		return n * int64(time.Millisecond)
	case "s":
		return n * int64(time.Second)
	case "min":
		return n * int64(time.Minute)
	case "h":
		return n * int64(time.Hour)
	case "KiB":
		return n << 10
	case "MiB":
		return n << 20
	}
	return n
}

// codeQuantity gives a constant's value for a message, as a duration when
// the docs give it in a unit of time.
func codeQuantity(unit string, v int64) any {
	switch unit {
	case "ms", "s", "min", "h":
		return time.Duration(v)
	}
	return v
}

const quantityRE = `([0-9]+(?: [0-9]{3})*)(?: (ms|s|min|h|KiB|MiB)\b)?`

// TestConfigurationDocDefaultsMatchConstants checks the defaults
// docs/configuration.md quotes against the constants and the preset they
// come from: every "`DefaultX` = value" and the default column of the
// options whose default is a number.
func TestConfigurationDocDefaultsMatchConstants(t *testing.T) {
	doc := readDoc(t, "configuration.md", false)
	consts := map[string]int64{
		"DefaultMaxRedirects":               transport.DefaultMaxRedirects,
		"DefaultCertificateReloadInterval":  int64(transport.DefaultCertificateReloadInterval),
		"DefaultDialTimeout":                int64(transport.DefaultDialTimeout),
		"DefaultKeepAlive":                  int64(transport.DefaultKeepAlive),
		"DefaultTLSHandshakeTimeout":        int64(transport.DefaultTLSHandshakeTimeout),
		"DefaultIdleConnTimeout":            int64(transport.DefaultIdleConnTimeout),
		"DefaultMaxIdleConnsPerHost":        transport.DefaultMaxIdleConnsPerHost,
		"DefaultHTTP2ReadIdleTimeout":       int64(transport.DefaultHTTP2ReadIdleTimeout),
		"DefaultMaxResponseBodyBytes":       transport.DefaultMaxResponseBodyBytes,
		"DefaultMaxResponseHeaderBytes":     transport.DefaultMaxResponseHeaderBytes,
		"DefaultMaxRetryAfter":              int64(transport.DefaultMaxRetryAfter),
		"DefaultThrottleMaxWait":            int64(transport.DefaultThrottleMaxWait),
		"DefaultInventoryMaxEntries":        transport.DefaultInventoryMaxEntries,
		"DefaultRetryMaxAttempts":           transport.DefaultRetryMaxAttempts,
		"DefaultRetryBaseDelay":             int64(transport.DefaultRetryBaseDelay),
		"DefaultRetryMaxDelay":              int64(transport.DefaultRetryMaxDelay),
		"DefaultBreakerWindow":              int64(transport.DefaultBreakerWindow),
		"DefaultBreakerOpenTimeout":         int64(transport.DefaultBreakerOpenTimeout),
		"DefaultBreakerProbeTimeout":        int64(transport.DefaultBreakerProbeTimeout),
		"DefaultBreakerConsecutiveFailures": transport.DefaultBreakerConsecutiveFailures,
	}
	seen := map[string]bool{}
	re := regexp.MustCompile("`(?:transport\\.|client\\.)?(Default[A-Za-z0-9]+)` = " + quantityRE)
	for _, m := range re.FindAllStringSubmatch(doc, -1) {
		seen[m[1]] = true
		want, ok := consts[m[1]]
		if !ok {
			t.Errorf("docs/configuration.md quotes %s = %s %s: add the constant to this test", m[1], m[2], m[3])
			continue
		}
		if got := docQuantity(t, m[2], m[3]); got != want {
			t.Errorf("docs/configuration.md: %s = %s %s, the constant is %v", m[1], m[2], m[3], codeQuantity(m[3], want))
		}
	}
	// The base transport's defaults (transport.BaseConfig, whose zero
	// fields mean them), in the page's table of them.
	for _, name := range []string{"DefaultDialTimeout", "DefaultKeepAlive", "DefaultTLSHandshakeTimeout",
		"DefaultIdleConnTimeout", "DefaultMaxIdleConnsPerHost", "DefaultHTTP2ReadIdleTimeout",
		"DefaultMaxResponseHeaderBytes"} {
		if !seen[name] {
			t.Errorf("docs/configuration.md does not quote the base transport default %s (\"`%s` = value\")", name, name)
		}
	}

	std := transport.StandardPreset()
	rows := map[string]int64{
		"WithTimeout":              int64(std.TotalTimeout),
		"WithAttemptTimeout":       int64(std.AttemptTimeout),
		"WithMaxAttempts":          int64(std.Retry.MaxAttempts),
		"WithMaxResponseBytes":     transport.DefaultMaxResponseBodyBytes,
		"WithHTTP2ReadIdleTimeout": int64(transport.DefaultHTTP2ReadIdleTimeout),
	}
	for opt, want := range rows {
		m := regexp.MustCompile("(?m)^\\| `" + opt + "\\([^|]*\\| " + quantityRE).FindStringSubmatch(doc)
		if m == nil {
			t.Errorf("docs/configuration.md has no table row for %s with a numeric default", opt)
			continue
		}
		if got := docQuantity(t, m[1], m[2]); got != want {
			t.Errorf("docs/configuration.md: %s defaults to %s %s, the code to %v", opt, m[1], m[2], codeQuantity(m[2], want))
		}
	}
	if client.DefaultPreset != transport.PresetStandard {
		t.Fatalf("client.DefaultPreset is %q: the checks below read the standard preset", client.DefaultPreset)
	}
	if !strings.Contains(doc, "`client.DefaultPreset` = `\""+client.DefaultPreset+"\"`") {
		t.Errorf("docs/configuration.md does not say client.DefaultPreset = %q", client.DefaultPreset)
	}
}

// TestConfigurationDocStandardPresetMatchesCode checks the sentence of
// docs/configuration.md that gives the standard preset's values.
func TestConfigurationDocStandardPresetMatchesCode(t *testing.T) {
	doc := readDoc(t, "configuration.md", true)
	if !strings.Contains(doc, "(`transport.StandardPreset`): ") {
		t.Fatal("docs/configuration.md no longer describes transport.StandardPreset")
	}
	p := transport.StandardPreset()
	for _, phrase := range []string{
		"total " + docDuration(p.TotalTimeout),
		"attempt " + docDuration(p.AttemptTimeout),
		strconv.Itoa(p.Retry.MaxAttempts) + " attempts",
		"from " + docDuration(p.Retry.BaseDelay) + " capped at " + docDuration(p.Retry.MaxDelay),
		"server waits capped at " + docDuration(p.Retry.MaxRetryAfter),
		"(" + docDuration(p.Breaker.Window) + " window, open " + docDuration(p.Breaker.OpenTimeout) + ", probe " + docDuration(p.Breaker.ProbeTimeout) + ")",
		"waits at most " + docDuration(p.Throttle.MaxWait),
	} {
		if !strings.Contains(doc, phrase) {
			t.Errorf("docs/configuration.md does not say %q of the standard preset", phrase)
		}
	}
}

// TestResilienceDocPresetTableMatchesCode checks the preset table of
// docs/resilience.md against the presets.
func TestResilienceDocPresetTableMatchesCode(t *testing.T) {
	doc := readDoc(t, "resilience.md", false)
	for name, p := range map[string]transport.ResilienceConfig{
		"StandardPreset":    transport.StandardPreset(),
		"InteractivePreset": transport.InteractivePreset(),
		"BatchPreset":       transport.BatchPreset(),
		"BackgroundPreset":  transport.BackgroundPreset(),
	} {
		m := regexp.MustCompile("(?m)^\\| `" + name + "`[^|]*\\|(.*)\\|$").FindStringSubmatch(doc)
		if m == nil {
			t.Errorf("docs/resilience.md has no table row for %s", name)
			continue
		}
		var cells []string
		for c := range strings.SplitSeq(m[1], "|") {
			cells = append(cells, strings.TrimSpace(c))
		}
		want := []string{
			docDuration(p.TotalTimeout),
			docDuration(p.AttemptTimeout),
			strconv.Itoa(p.Retry.MaxAttempts),
			docDuration(p.Retry.BaseDelay) + " … " + docDuration(p.Retry.MaxDelay),
			docDuration(p.Retry.MaxRetryAfter),
			docDuration(p.Breaker.Window) + " / " + docDuration(p.Breaker.OpenTimeout) + " / " + docDuration(p.Breaker.ProbeTimeout),
			docDuration(p.Throttle.MaxWait),
		}
		if strings.Join(cells, " | ") != strings.Join(want, " | ") {
			t.Errorf("docs/resilience.md, %s:\n got  %s\n want %s", name, strings.Join(cells, " | "), strings.Join(want, " | "))
		}
	}
}

// docDuration writes d as the docs do: "200 ms", "30 s", "2 min", and a
// minute as "60 s" below two minutes.
func docDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return strconv.FormatInt(d.Milliseconds(), 10) + " ms"
	case d < 2*time.Minute || d%time.Minute != 0:
		return strconv.FormatInt(int64(d/time.Second), 10) + " s"
	}
	return strconv.FormatInt(int64(d/time.Minute), 10) + " min"
}

// TestErrorsDocNamesEveryError checks that docs/errors.md, "every error a
// caller can branch on", names each exported sentinel (var Err...) and
// error type (type ...Error) of the packages whose errors reach a caller.
func TestErrorsDocNamesEveryError(t *testing.T) {
	doc := readDoc(t, "errors.md", false)
	total := 0
	for _, pkg := range []string{"client", "transport", "signer", "tokens", "tokens/keyring", "fleet", "openapi"} {
		_, vars, types := exportedDecls(t, filepath.Join("..", pkg))
		short := filepath.Base(pkg)
		var names []string
		for _, v := range vars {
			if strings.HasPrefix(v, "Err") {
				names = append(names, v)
			}
		}
		for _, ty := range types {
			if strings.HasSuffix(ty, "Error") {
				names = append(names, ty)
			}
		}
		for _, n := range names {
			total++
			re := regexp.MustCompile("`\\*?(?:" + regexp.QuoteMeta(short) + "\\.)?" + n + "\\b")
			if !re.MatchString(doc) {
				t.Errorf("docs/errors.md does not name %s.%s", short, n)
			}
		}
	}
	if total < 60 {
		t.Fatalf("found %d errors in the packages: the parse went wrong", total)
	}
}

// TestErrorsDocRetriedMatchesClassify checks the "retried?" column of
// docs/errors.md's table of sentinels against transport.Classify: a
// sentinel said never to be retried must be ClassPermanent, unless its row
// says it is decided above the retry layer, which then never sees it.
func TestErrorsDocRetriedMatchesClassify(t *testing.T) {
	doc := readDoc(t, "errors.md", false)
	sentinels := map[string]error{
		"ErrPinMismatch": transport.ErrPinMismatch, "ErrInsecureTLS": transport.ErrInsecureTLS,
		"ErrRedirectDenied": transport.ErrRedirectDenied, "ErrEgressDenied": transport.ErrEgressDenied,
		"ErrCircuitOpen": transport.ErrCircuitOpen, "ErrRateLimited": transport.ErrRateLimited,
		"ErrNotReplayable": transport.ErrNotReplayable, "ErrResponseTooLarge": transport.ErrResponseTooLarge,
		"ErrClosed": transport.ErrClosed, "ErrMediaTypeDenied": transport.ErrMediaTypeDenied,
		"ErrSchemaViolation": transport.ErrSchemaViolation, "ErrUnsafePath": transport.ErrUnsafePath,
		"ErrInvalidRequest": transport.ErrInvalidRequest, "ErrCertificateNotYetValid": transport.ErrCertificateNotYetValid,
		"ErrInsecureCertificateFile": transport.ErrInsecureCertificateFile,
	}
	rows := regexp.MustCompile("(?m)^\\| `(Err[A-Za-z]+)`.*\\| ([^|]*) \\|$").FindAllStringSubmatch(doc, -1)
	if len(rows) < len(sentinels) {
		t.Fatalf("found %d rows of sentinels in docs/errors.md, want %d", len(rows), len(sentinels))
	}
	for _, row := range rows {
		err, ok := sentinels[row[1]]
		if !ok {
			t.Errorf("docs/errors.md has a row for %s: add it to this test", row[1])
			continue
		}
		retried := row[2]
		if !strings.HasPrefix(retried, "never") && !strings.HasPrefix(retried, "no") {
			continue
		}
		if strings.Contains(row[0], "above the retry layer") {
			continue
		}
		v := transport.Classify(t.Context(), nil, fmt.Errorf("layer: %w", err), time.Now())
		if v.Class != transport.ClassPermanent {
			t.Errorf("docs/errors.md: %s is retried %q, transport.Classify says %v", row[1], retried, v.Class)
		}
	}
}
