// BenchmarkEval times one evaluation in Go, without Python: BENCH_INPUT=file.json
// [BENCH_BUNDLE=dir BENCH_QUERY=data.x] go test -bench Eval -benchmem .
// BENCH_ACTION=data.read times the residual of that action instead, as the service routes it.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"
)

func BenchmarkEval(b *testing.B) {
	q, in := benchQuery(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := q.eval(in, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// benchQuery is the query the benchmarks time (the residual of BENCH_ACTION when it is set)
// and the input they time it on (BENCH_INPUT).
func benchQuery(b *testing.B) (*preparedQuery, []byte) {
	bs, berr := loadBundle(loadRequest(envOr("BENCH_BUNDLE", "../policy/bundle")))
	if berr != nil {
		b.Fatal(berr)
	}
	query := envOr("BENCH_QUERY", "data.acgs.constitutional.evaluate")
	var q *preparedQuery
	if action := os.Getenv("BENCH_ACTION"); action != "" {
		request := fmt.Sprintf(`{"query": %q, "input": {"action": %q}, "unknowns": ["input.context", "input.data"]}`, query, action)
		q, berr = bs.preparePartial([]byte(request))
	} else {
		q, berr = bs.prepare(query)
	}
	if berr != nil {
		b.Fatal(berr)
	}
	in, _ := os.ReadFile(os.Getenv("BENCH_INPUT"))
	return q, in
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

// loadRequest is pe_load_bundle's request for a local bundle with default options.
func loadRequest(path string) []byte {
	raw, _ := json.Marshal(loadOptions{Path: path})
	return raw
}
