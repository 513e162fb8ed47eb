package hostname

import "testing"

func TestToASCII(t *testing.T) {
	for _, c := range []struct {
		in, want string
		err      bool
	}{
		{"api.example.com", "api.example.com", false},
		{"API.Example.COM.", "API.Example.COM.", false}, // ASCII: as it is
		{"bücher.example", "xn--bcher-kva.example", false},
		{"BÜCHER.example", "xn--bcher-kva.example", false},
		{"a\u00adb.example", "ab.example", false}, // a soft hyphen is mapped away
		{"\u212A_svc.internal", "", true},         // KELVIN SIGN: not a valid lookup name
	} {
		got, err := ToASCII(c.in)
		if (err != nil) != c.err || err == nil && got != c.want {
			t.Errorf("ToASCII(%q) = %q, %v; want %q (error %v)", c.in, got, err, c.want, c.err)
		}
	}
}

func TestToASCIIAllocs(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { _, _ = ToASCII("api.example.com") }); n != 0 {
		t.Errorf("ToASCII of an ASCII name: %v allocations, want 0", n)
	}
}
