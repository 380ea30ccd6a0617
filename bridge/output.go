package main

import (
	"encoding/json"
	"fmt"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

// keepTerm hands results over as AST terms: rego's default turns them into Go maps and
// slices first, only for encoding/json to walk them again.
var keepTerm = rego.EvalGenerateJSON(func(t *ast.Term, _ *rego.EvalContext) (any, error) { return t, nil })

// expressionJSON encodes an expression's value: a term (keepTerm), or the plain true rego
// reports for an expression it does not capture (`x := 1`).
func expressionJSON(v any) ([]byte, error) {
	if t, ok := v.(*ast.Term); ok {
		return resultJSON(t.Value)
	}
	return json.Marshal(v)
}

// resultJSON encodes a result as encoding/json encodes OPA's usual result: the same bytes.
// Values it does not write itself (sets, non-string keys) go through OPA's conversion.
func resultJSON(v ast.Value) ([]byte, error) {
	out, ok := appendJSON(make([]byte, 0, 256), v)
	if !ok {
		x, err := ast.JSON(v)
		if err != nil {
			return nil, err
		}
		if out, err = json.Marshal(x); err != nil {
			return nil, err
		}
	}
	// OPA's server answers {"result": ...} through encoding/json, whose scanner refuses JSON
	// nested deeper than 10,000 levels: a result that deep is an error there, and so here.
	if len(out) >= 2*maxResultDepth && nesting(out) > maxResultDepth {
		return nil, fmt.Errorf("json: the result exceeds the maximum nesting depth of %d", maxResultDepth)
	}
	return out, nil
}

// maxResultDepth leaves one level of encoding/json's 10,000 for the {"result": ...} around it.
const maxResultDepth = 10000 - 1

// nesting is the deepest nesting of arrays and objects in a JSON text.
func nesting(text []byte) int {
	depth, deepest, inString, escaped := 0, 0, false, false
	for _, c := range text {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '[' || c == '{':
			depth++
			deepest = max(deepest, depth)
		case c == ']' || c == '}':
			depth--
		}
	}
	return deepest
}

func appendJSON(dst []byte, v ast.Value) ([]byte, bool) {
	switch v := v.(type) {
	case ast.Null:
		return append(dst, "null"...), true
	case ast.Boolean:
		if v {
			return append(dst, "true"...), true
		}
		return append(dst, "false"...), true
	case ast.Number:
		// OPA keeps a number's text (`to_number("+1")` is "+1"); encoding/json refuses
		// text that is not a JSON number, and so must this writer.
		if !validNumber(string(v)) {
			return dst, false
		}
		return append(dst, v...), true
	case ast.String:
		return appendString(dst, string(v)), true
	case *ast.Array:
		return appendArray(dst, v)
	case ast.Object:
		return appendObject(dst, v)
	default:
		return dst, false
	}
}

func appendArray(dst []byte, a *ast.Array) ([]byte, bool) {
	dst = append(dst, '[')
	for i := range a.Len() {
		if i > 0 {
			dst = append(dst, ',')
		}
		var ok bool
		if dst, ok = appendJSON(dst, a.Elem(i).Value); !ok {
			return dst, false
		}
	}
	return append(dst, ']'), true
}

// appendObject writes keys in the object's order, which for string keys is byte order:
// the order encoding/json sorts map keys in.
func appendObject(dst []byte, o ast.Object) ([]byte, bool) {
	dst = append(dst, '{')
	ok := true
	first := true
	o.Foreach(func(k, v *ast.Term) {
		key, isString := k.Value.(ast.String)
		if !ok || !isString {
			ok = false
			return
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendString(dst, string(key))
		dst = append(dst, ':')
		dst, ok = appendJSON(dst, v.Value)
	})
	return append(dst, '}'), ok
}

// appendString writes plain ASCII itself and leaves escaping, with encoding/json's HTML
// escapes and invalid UTF-8 handling, to encoding/json.
func appendString(dst []byte, s string) []byte {
	for i := range len(s) {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			quoted, _ := json.Marshal(s)
			return append(dst, quoted...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// validNumber: the JSON number grammar (RFC 8259), as encoding/json checks json.Number.
func validNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		i = digits(s, i)
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		if j := digits(s, i+1); j > i+1 {
			i = j
		} else {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := digits(s, i)
		if j == i {
			return false
		}
		i = j
	}
	return i == len(s)
}

func digits(s string, i int) int {
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}
