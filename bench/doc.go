// Package bench holds securecall's stack benchmarks. BenchmarkStack compares
// the full client against bare net/http in the same run:
//
//	BenchmarkStack/{stub,h1,h2}/{bare,full}/{GET,POST}
//	BenchmarkStack/stub/lean/{GET,POST}
//
// full has every layer on (HMAC signing and a cached bearer token
// included) and tracing on with a real OTel SDK; lean is full with no-op
// tracer and meter providers. stub runs over an in-memory transport (pure
// client cost); h1 and h2 run
// over loopback HTTPS. POST sends 1 KiB of JSON. Run ./scripts/bench.sh for
// a benchstat summary; docs/performance.md records the figures.
package bench
