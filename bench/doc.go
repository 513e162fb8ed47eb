// Package bench holds securecall's benchmark suite. Every comparison is
// made in the same run:
//
//	BenchmarkStack/{stub,h1,h2}/{bare,full,lean}/{GET,POST}
//	BenchmarkStackParallel/stub/{bare,full,lean,full-noexemplars}/GET
//	BenchmarkLayer/<layer>/{GET,POST}        one layer alone over the stub
//	BenchmarkLayerParallel/<layer>/GET
//	BenchmarkOTelFloor/{span,histogram}      the OTel SDK's own cost
//	BenchmarkWireCost/{plain,headers,h2enabled}
//
// bare is http.Client; full has every layer on (HMAC signing and a cached
// bearer token included) and tracing on with a real OTel SDK; lean is full
// with no-op tracer and meter providers. stub runs over an in-memory
// transport (pure client cost); h1 and h2 over loopback HTTPS. POST sends
// 1 KiB of JSON. TestLayerAllocs and TestStackAllocs pin the allocation
// counts (run without -race by scripts/test.sh). The hand-assembled
// comparison stack lives in the nested module bench/handstack. Run
// ./scripts/bench.sh for a benchstat summary; docs/performance.md records
// the figures.
package bench
