package main

import "testing"

// BenchmarkKey times the cache key of one input (parse, project, encode), without Python:
// BENCH_INPUT=file.json [BENCH_ACTION=data.read] go test -bench Key -benchmem .
func BenchmarkKey(b *testing.B) {
	q, in := benchQuery(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := q.cacheKey(in); err != nil {
			b.Fatal(err)
		}
	}
}
