package main

import (
	"os"
	"testing"
)

// BenchmarkKey times the cache key of one input (parse, project, encode), without Python:
// BENCH_INPUT=file.json go test -bench Key -benchmem .
func BenchmarkKey(b *testing.B) {
	bs, berr := loadBundle(loadRequest(envOr("BENCH_BUNDLE", "../policy/bundle")))
	if berr != nil {
		b.Fatal(berr)
	}
	q, berr := bs.prepare(envOr("BENCH_QUERY", "data.acgs.constitutional.evaluate"))
	if berr != nil {
		b.Fatal(berr)
	}
	in, _ := os.ReadFile(os.Getenv("BENCH_INPUT"))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := q.cacheKey(in); err != nil {
			b.Fatal(err)
		}
	}
}
