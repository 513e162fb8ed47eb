package transport_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/securecall/securecall/transport"
)

func TestParseTemplateErrors(t *testing.T) {
	for _, s := range []string{
		"",
		"users/{id}",
		"/users//{id}",
		"//",
		"/users/{id",
		"/users/id}",
		"/users/{}",
		"/users/{1d}",
		"/users/{i-d}",
		"/users/{id}/{id}",
		"/users/../admin",
		"/users/./x",
		"/users/..",
		"/users?x=1",
		"/users#frag",
		"/a b",
		"/a%2Fb",
		"/a%2fb",
		"/a%5Cb",
		"/a%252Fb",
		"/%25%32%65%25%32%65/x",
		"/%2e%2e/admin",
		"/a%00b",
		"/a%zz",
		"/a%2",
		"/a\\b",
		"/a\x00b",
		"/caf\xe9",
		"/" + strings.Repeat("a", 3000),
	} {
		_, err := transport.ParseTemplate(s)
		var te *transport.TemplateError
		if !errors.As(err, &te) || !errors.Is(err, transport.ErrUnsafePath) {
			t.Errorf("ParseTemplate(%q) = %v, want *TemplateError", s, err)
		}
	}
}

func TestTemplateExpand(t *testing.T) {
	for _, tc := range []struct {
		tmpl   string
		values []string
		want   string
	}{
		{"/", nil, "/"},
		{"/users", nil, "/users"},
		{"/users/", nil, "/users/"},
		{"/users/{id}", []string{"42"}, "/users/42"},
		{"/users/{id}/orders/{order}", []string{"42", "A-7"}, "/users/42/orders/A-7"},
		{"/users/{id}", []string{"a b"}, "/users/a%20b"},
		{"/users/{id}", []string{"?admin=1"}, "/users/%3Fadmin=1"},
		{"/users/{id}", []string{"#x"}, "/users/%23x"},
		{"/users/{id}", []string{"%"}, "/users/%25"},
		{"/users/{id}", []string{"a%2e%2e"}, "/users/a%252e%252e"},
		{"/users/{id}", []string{";jsessionid=1"}, "/users/%3Bjsessionid=1"},
		{"/users/{id}", []string{"..."}, "/users/..."},
		{"/users/{id}", []string{".hidden"}, "/users/.hidden"},
		{"/users/{id}", []string{"é"}, "/users/%C3%A9"},
		{"/files/{name}.json", []string{"report"}, "/files/report.json"},
		{"/files/{name}.json", []string{"."}, "/files/..json"},
		{"/v1/{resource}:cancel", []string{"op1"}, "/v1/op1:cancel"},
		{"/a/{x}{y}", []string{"1", "2"}, "/a/12"},
		{"/a/%7Euser/{x}", []string{"1"}, "/a/%7Euser/1"},
	} {
		tm, err := transport.ParseTemplate(tc.tmpl)
		if err != nil {
			t.Errorf("ParseTemplate(%q): %v", tc.tmpl, err)
			continue
		}
		got, err := tm.Expand(tc.values...)
		if err != nil || got != tc.want {
			t.Errorf("%q.Expand(%q) = %q, %v; want %q", tc.tmpl, tc.values, got, err, tc.want)
		}
		if tm.String() != tc.tmpl {
			t.Errorf("String() = %q", tm.String())
		}
	}
}

func TestTemplateExpandRefuses(t *testing.T) {
	tm := transport.MustParseTemplate("/users/{id}/orders")
	for _, v := range []string{
		"", ".", "..", "../admin", "a/b", "a\\b", "a\x00b", "a\nb", "a\rb", "\x7f", "\xff\xfe", "/", "\\",
	} {
		got, err := tm.Expand(v)
		var te *transport.TemplateError
		if !errors.As(err, &te) || te.Var != "id" {
			t.Errorf("Expand(%q) = %q, %v; want a *TemplateError for {id}", v, got, err)
			continue
		}
		if v != "" && strings.Contains(err.Error(), v) && len(v) > 1 {
			t.Errorf("error repeats the value: %v", err)
		}
	}
	// Two variables that together would make "..".
	two := transport.MustParseTemplate("/x/{a}{b}")
	if _, err := two.Expand(".", "."); !errors.Is(err, transport.ErrUnsafePath) {
		t.Errorf("{a}{b} = .+.: %v, want refused", err)
	}
	if _, err := tm.Expand(); err == nil {
		t.Error("Expand with too few values succeeded")
	}
	if _, err := tm.Expand("1", "2"); err == nil {
		t.Error("Expand with too many values succeeded")
	}
}

func TestTemplateExpandMap(t *testing.T) {
	tm := transport.MustParseTemplate("/users/{id}/orders/{order}")
	got, err := tm.ExpandMap(map[string]string{"order": "9", "id": "7"})
	if err != nil || got != "/users/7/orders/9" {
		t.Fatalf("ExpandMap = %q, %v", got, err)
	}
	if _, err := tm.ExpandMap(map[string]string{"id": "7"}); err == nil {
		t.Error("missing value accepted")
	}
	if _, err := tm.ExpandMap(map[string]string{"id": "7", "order": "9", "extra": "x"}); err == nil {
		t.Error("unknown name accepted")
	}
	if n := tm.Names(); len(n) != 2 || n[0] != "id" || n[1] != "order" {
		t.Errorf("Names = %v", n)
	}
}

// TestTemplateJoinPathContrast shows the hazard the template removes:
// url.JoinPath cleans "../" and escapes the base path.
func TestTemplateJoinPathContrast(t *testing.T) {
	joined, _ := url.JoinPath("https://api.example.com/v1/users", "../admin")
	if joined != "https://api.example.com/v1/admin" {
		t.Fatalf("url.JoinPath behaviour changed: %s", joined)
	}
	base, _ := url.Parse("https://api.example.com/v1")
	if _, err := transport.MustParseTemplate("/users/{id}").URL(base, "../admin"); !errors.Is(err, transport.ErrUnsafePath) {
		t.Fatalf("template accepted ../admin: %v", err)
	}
}

func TestTemplateURLAndRequest(t *testing.T) {
	var gotPath, gotRaw string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath, gotRaw = r.URL.Path, r.URL.EscapedPath()
	}))
	defer srv.Close()
	tm := transport.MustParseTemplate("/users/{id}/files/{name}")
	req, err := tm.NewRequest(context.Background(), http.MethodGet, srv.URL+"/v1/", nil, "a b", "x?y#z;%")
	if err != nil {
		t.Fatal(err)
	}
	if r := transport.RouteFrom(req.Context()); r != "/v1/users/{id}/files/{name}" {
		t.Fatalf("route = %q", r)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if want := "/v1/users/a%20b/files/x%3Fy%23z%3B%25"; gotRaw != want {
		t.Fatalf("server saw escaped path %q, want %q", gotRaw, want)
	}
	if want := "/v1/users/a b/files/x?y#z;%"; gotPath != want {
		t.Fatalf("server saw path %q, want %q", gotPath, want)
	}

	base, _ := url.Parse("https://user@api.example.com/v1?k=secret#f")
	u, err := tm.URL(base, "1", "2")
	if err != nil {
		t.Fatal(err)
	}
	if u.String() != "https://user@api.example.com/v1/users/1/files/2" {
		t.Fatalf("URL = %s", u)
	}
	if base.Path != "/v1" || base.RawQuery != "k=secret" {
		t.Fatal("URL modified its base")
	}
	if _, err := tm.URL(&url.URL{Path: "/rel"}, "1", "2"); err == nil {
		t.Fatal("relative base accepted")
	}
	if _, err := tm.NewRequest(context.Background(), http.MethodGet, "::bad", nil, "1", "2"); err == nil {
		t.Fatal("bad base accepted")
	}
}

func TestMustParseTemplatePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	transport.MustParseTemplate("no-slash")
}

// FuzzTemplate checks, for any template that parses and any values that
// Expand accepts, that the path has the template's shape: the same number
// of segments, no dot or unexpected empty segment, no encoded slash or
// control character, every whole-segment variable decodes back to its
// value, and net/url keeps the escaped form.
func FuzzTemplate(f *testing.F) {
	f.Add("/users/{id}/orders/{order}", "42", "A-7")
	f.Add("/users/{id}", "../admin", "x")
	f.Add("/files/{name}.json", ".", "x")
	f.Add("/x/{a}{b}", ".", ".")
	f.Add("/v1/{r}:cancel", "%2F", "x")
	f.Add("/", "", "")
	f.Add("/a/", "b", "c")
	f.Add("/{a}/{b}/", "é", "\x00")
	f.Add("/%7E/{a}", "a\\b", "?#")
	f.Add("/a/{x};v=1/b", "..", "x")
	f.Add("/a/{x}{y};v", ".", "..;")
	f.Add("/a/{x}{y}", "%2", "f")
	f.Add("/a/%25{x}", "2e%252e", "x")
	f.Fuzz(func(t *testing.T, tmpl, v1, v2 string) {
		tm, err := transport.ParseTemplate(tmpl)
		if err != nil {
			if !errors.Is(err, transport.ErrUnsafePath) {
				t.Fatalf("ParseTemplate error does not wrap ErrUnsafePath: %v", err)
			}
			return
		}
		names := tm.Names()
		vals := make([]string, len(names))
		for i := range vals {
			if i%2 == 0 {
				vals[i] = v1
			} else {
				vals[i] = v2
			}
		}
		p, err := tm.Expand(vals...)
		if err != nil {
			if !errors.Is(err, transport.ErrUnsafePath) {
				t.Fatalf("Expand error does not wrap ErrUnsafePath: %v", err)
			}
			return
		}
		tsegs := strings.Split(tmpl[1:], "/")
		psegs := strings.Split(p[1:], "/")
		if !strings.HasPrefix(p, "/") || len(psegs) != len(tsegs) {
			t.Fatalf("%q -> %q: %d segments, template has %d", tmpl, p, len(psegs), len(tsegs))
		}
		for i, s := range psegs {
			if s == "." || s == ".." {
				t.Fatalf("%q -> %q: dot segment", tmpl, p)
			}
			// Servlet containers strip ";" path parameters before they
			// remove dot segments.
			if h, _, _ := strings.Cut(s, ";"); h == "." || h == ".." {
				t.Fatalf("%q -> %q: dot segment before a path parameter", tmpl, p)
			}
			if s == "" && tsegs[i] != "" {
				t.Fatalf("%q -> %q: empty segment", tmpl, p)
			}
			dec, err := url.PathUnescape(s)
			if err != nil {
				t.Fatalf("%q -> %q: segment %q does not unescape: %v", tmpl, p, s, err)
			}
			if strings.ContainsAny(dec, "/\\") || !utf8.ValidString(dec) {
				t.Fatalf("%q -> %q: segment decodes to %q", tmpl, p, dec)
			}
			// A gateway may decode once more before its upstream decodes.
			if dec2, err := url.PathUnescape(dec); err == nil {
				if h, _, _ := strings.Cut(dec2, ";"); strings.ContainsAny(dec2, "/\\") || h == "." || h == ".." {
					t.Fatalf("%q -> %q: segment decodes twice to %q", tmpl, p, dec2)
				}
			}
			for _, c := range []byte(dec) {
				if c < 0x20 || c == 0x7f {
					t.Fatalf("%q -> %q: control character", tmpl, p)
				}
			}
			if len(tsegs[i]) > 2 && tsegs[i][0] == '{' && strings.IndexByte(tsegs[i], '}') == len(tsegs[i])-1 {
				name := tsegs[i][1 : len(tsegs[i])-1]
				for j, n := range names {
					if n == name && dec != vals[j] {
						t.Fatalf("%q -> %q: {%s} decodes to %q, value was %q", tmpl, p, name, dec, vals[j])
					}
				}
			}
		}
		u, err := url.Parse("https://h.example" + p)
		if err != nil {
			t.Fatalf("%q -> %q: url.Parse: %v", tmpl, p, err)
		}
		if u.EscapedPath() != p {
			t.Fatalf("%q -> %q: EscapedPath %q", tmpl, p, u.EscapedPath())
		}
		if u.RawQuery != "" || u.Fragment != "" {
			t.Fatalf("%q -> %q: query or fragment appeared", tmpl, p)
		}
	})
}
