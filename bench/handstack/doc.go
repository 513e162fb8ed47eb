// Package handstack is the comparison stack of securecall's performance
// work (issue 8): what a careful engineer assembles by hand from the usual
// libraries to get roughly what securecall gives, so that benchmarks can put
// the two side by side in the same run.
//
// From the caller down (New):
//
//	http.Client
//	  go-retryablehttp (RoundTripper over a retryablehttp.Client, logging off)
//	    http.Client
//	      otelhttp.Transport ........ one span per attempt, metrics, traceparent
//	        Breaker ................. sony/gobreaker/v2 around RoundTrip
//	          Limiter ............... golang.org/x/time/rate, Wait per request
//	            oauth2.Transport .... x/oauth2, a ReuseTokenSource (the cache)
//	              Signer ............ HMAC-SHA256 over method, path, date, nonce
//	                base ............ PinnedTransport (SPKI pins), or a stub
//
// It does less than securecall (no Content-Digest, no budgets, no egress
// allowlist, no inventory, no redaction, no per-host state) and is not
// meant for use outside the benchmarks: its tests check only that it does
// what its benchmark claims it does.
//
// The benchmarks (BenchmarkHandStack, BenchmarkHandStackParallel) compare
// bare net/http, this stack ("hand") and securecall's client.New with every
// layer on ("full") on an in-memory stub transport and on loopback HTTPS,
// with the same OTel SDK setup as bench's BenchmarkStack:
//
//	cd bench/handstack && go test -run '^$' -bench . -benchmem
//	HAND=1 ./scripts/bench.sh      # from the repository root, with benchstat
package handstack
