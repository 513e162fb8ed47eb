package fleet

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/securecall/securecall/fleet/internal/redistest"
	"github.com/securecall/securecall/transport"
)

// TestQuotaPatternZoneCase: an IPv6 zone names an interface, and
// interface names are case-sensitive, so transport.HostKey keeps a zone
// as written ("[fe80::1%ETH0]" and "[fe80::1%eth0]" are two links, two
// hosts) and a throttle pattern matches it as written. A quota for the
// "ETH0" link applies to that link alone, through real Redis: its second
// take (a burst of 1 per hour) waits, while the "eth0" link, which no
// limit matches, is granted every time.
func TestQuotaPatternZoneCase(t *testing.T) {
	srv := redistest.Start(t)
	q := newQuota(t, patientClient(t, srv), QuotaOptions{
		Hosts:  []QuotaLimit{{Pattern: "[fe80::1%ETH0]", Rate: 1, Period: time.Hour}},
		Policy: FailClosed,
	})
	upper := transport.HostKey(mustParseURL(t, "https://[fe80::1%25ETH0]/"))
	lower := transport.HostKey(mustParseURL(t, "https://[fe80::1%25eth0]/"))
	if upper == lower {
		t.Fatalf("HostKey gives %q for both links", upper)
	}
	ctx := context.Background()
	for i := range 3 {
		if d, err := q.TakeQuota(ctx, lower); d != 0 || err != nil {
			t.Fatalf("take %d for %s, which no limit matches: %v, %v; want it granted (the limit is %s's)", i, lower, d, err, upper)
		}
	}
	if d, err := q.TakeQuota(ctx, upper); d != 0 || err != nil {
		t.Fatalf("first take for %s: %v, %v; want the burst's token", upper, d, err)
	}
	if d, err := q.TakeQuota(ctx, upper); d <= 0 || err != nil {
		t.Fatalf("second take for %s: %v, %v; want a wait (1 per hour)", upper, d, err)
	}
}

func mustParseURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
