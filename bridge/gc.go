package main

import (
	"os"
	"runtime/debug"
)

// The live heap here is small (a few MB: bundle, compilers, residuals) while each evaluation
// allocates ~20 KB, so at Go's default GOGC=100 the collector runs dozens of times a second,
// and the evaluations that overlap a cycle make the tail. `policy-engine bench engine`
// measured p99 of a single call 887-995 µs at GOGC=100 against 295-412 µs at 400 (earlier
// session), and, alternating three runs each, residual p99 228-235 µs and p99.9 1.0-2.0 ms
// at GOGC=400 (soft limit 256 MiB) against 204-213 µs and 0.34-0.43 ms at 2000 with a
// 128 MiB limit, for 49 MB more RSS. The soft limit bounds the heap; GOGC and GOMEMLIMIT in
// the environment override both (raise the limit for a bundle whose data is large).
const (
	defaultGCPercent   = 2000
	defaultMemoryLimit = 128 << 20
)

func init() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
}
