package main

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/util"
	"github.com/valyala/fastjson"
)

// parseInput turns one JSON document into the AST value OPA evaluates.
//
// OPA's own path (encoding/json into interfaces, then ast.InterfaceToValue) was three
// quarters of the cost of a trivial evaluation on a workload input, so plain inputs go
// through fastjson straight to AST terms. fastjson is lenient where encoding/json is not
// (lone surrogate escapes, invalid UTF-8, raw control characters), so any input that
// could reach those differences takes OPA's path: both paths give the same value.
func parseInput(raw []byte) (ast.Value, error) {
	if !plainJSON(bytes.TrimSpace(raw)) {
		return parseInputSlow(raw)
	}
	p := parsers.Get()
	defer parsers.Put(p)
	v, err := p.ParseBytes(raw)
	if err != nil || fastjson.ValidateBytes(raw) != nil {
		// Invalid JSON (ParseBytes does not check the escapes inside strings, such as `\x`;
		// ValidateBytes does), or JSON fastjson refuses (nesting deeper than 300): OPA's
		// path answers with OPA's value or OPA's error.
		return parseInputSlow(raw)
	}
	if value, ok := toAST(v); ok {
		return value, nil
	}
	return parseInputSlow(raw)
}

var parsers fastjson.ParserPool

// plainJSON: no \u escapes, no control characters (whitespace inside), valid UTF-8.
func plainJSON(raw []byte) bool {
	ascii := true
	for _, c := range raw {
		if c < 0x20 {
			return false
		}
		if c >= utf8.RuneSelf {
			ascii = false
		}
	}
	return !bytes.Contains(raw, []byte(`\u`)) && (ascii || utf8.Valid(raw))
}

// toAST converts a parsed document; false where OPA's decoder must answer (a number whose
// exponent is out of range is an error there).
func toAST(v *fastjson.Value) (ast.Value, bool) {
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		obj := ast.NewObjectWithCapacity(o.Len())
		ok := true
		o.Visit(func(key []byte, x *fastjson.Value) {
			if value, valid := toAST(x); valid && ok {
				obj.Insert(keyTerm(key), ast.NewTerm(value))
			} else {
				ok = false
			}
		})
		return obj, ok
	case fastjson.TypeArray:
		items, _ := v.Array()
		terms := make([]*ast.Term, len(items))
		for i, x := range items {
			value, ok := toAST(x)
			if !ok {
				return nil, false
			}
			terms[i] = ast.NewTerm(value)
		}
		return ast.NewArray(terms...), true
	case fastjson.TypeString:
		s, _ := v.StringBytes()
		return ast.InternedTerm(string(s)).Value, true
	case fastjson.TypeNumber:
		return numberValue(v.String())
	case fastjson.TypeTrue:
		return ast.InternedTerm(true).Value, true
	case fastjson.TypeFalse:
		return ast.InternedTerm(false).Value, true
	default:
		return ast.NullValue, true
	}
}

// keyTerm shares one term per object key: inputs repeat the same few keys, and a term
// is immutable once built. The cache stops growing at maxKeyTerms keys.
func keyTerm(key []byte) *ast.Term {
	if t, ok := keyTerms.Load(string(key)); ok {
		return t.(*ast.Term)
	}
	t := ast.InternedTerm(string(key))
	if keyTermCount.Load() < maxKeyTerms {
		if _, loaded := keyTerms.LoadOrStore(string(key), t); !loaded {
			keyTermCount.Add(1)
		}
	}
	return t
}

const maxKeyTerms = 4096

var (
	keyTerms     sync.Map
	keyTermCount atomic.Int64
)

func numberValue(text string) (ast.Value, bool) {
	if t := ast.InternedIntNumberTermFromString(text); t != nil {
		return t.Value, true
	}
	n, err := ast.NumberChecked(text)
	return n, err == nil
}

// parseInputSlow is OPA's own path, as the OPA server decodes an input. Like `opa eval`, it
// refuses anything after the value but white space (dec.More alone misses a stray `}` or `]`).
func parseInputSlow(raw []byte) (ast.Value, error) {
	var x any
	dec := util.NewJSONDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&x); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("trailing data after the JSON value")
	}
	return ast.InterfaceToValue(x)
}
