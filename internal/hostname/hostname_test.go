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

func TestHostPort(t *testing.T) {
	for _, c := range []struct {
		in, want string
		err      bool
	}{
		{"API.example.com:8443", "API.example.com:8443", false}, // ASCII: as it is
		{"BÜCHER.example", "xn--bcher-kva.example", false},
		{"bücher。example:0443", "xn--bcher-kva.example:0443", false},
		{"bücher.example:", "xn--bcher-kva.example:", false},
		{"bücher_x.example", "", true},
		{"bücher.example:44x", "", true}, // not a port: part of the host
		{"[fe80::1%Ü]:443", "", true},
	} {
		got, err := HostPort(c.in)
		if (err != nil) != c.err || err == nil && got != c.want {
			t.Errorf("HostPort(%q) = %q, %v; want %q (error %v)", c.in, got, err, c.want, c.err)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = HostPort("api.example.com:443") }); n != 0 {
		t.Errorf("HostPort of an ASCII name: %v allocations, want 0", n)
	}
}
