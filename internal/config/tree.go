package config

import (
	"bytes"
	"errors"
	"sort"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// A TOML document as a tree whose every node knows where it was written, so
// that each problem can be reported at file:line:col. go-toml's decoder gives
// no positions for values it accepted, so we walk its unstable AST instead;
// the decoder runs first only to catch syntax and TOML-semantics errors
// (duplicate keys, redefined tables) with their positions.

type valKind int

const (
	vString valKind = iota + 1
	vInt
	vFloat
	vBool
	vDate
	vArray
	vTable
)

func (k valKind) String() string {
	switch k {
	case vString:
		return "a string"
	case vInt:
		return "an integer"
	case vFloat:
		return "a float"
	case vBool:
		return "a boolean"
	case vDate:
		return "a date/time"
	case vArray:
		return "an array"
	case vTable:
		return "a table"
	}
	return "a value"
}

// tnode is one TOML value.
type tnode struct {
	kind valKind
	pos  Pos // where the value starts (for tables: the header or `{`)
	str  string
	i    int64
	b    bool

	items []*tnode // vArray (also arrays of tables)

	keys   []string          // vTable: keys in document order
	fields map[string]*field // vTable
	// arrayOfTables marks a vArray built by [[header]] blocks.
	arrayOfTables bool
	// implicit marks a table created by a dotted key or a nested header.
	implicit bool
}

// field is a key of a table and its value.
type field struct {
	keyPos Pos
	val    *tnode
}

func newTable(pos Pos) *tnode {
	return &tnode{kind: vTable, pos: pos, fields: map[string]*field{}}
}

func (t *tnode) get(key string) *field {
	if t == nil || t.kind != vTable {
		return nil
	}
	return t.fields[key]
}

func (t *tnode) set(key string, keyPos Pos, v *tnode) {
	if _, ok := t.fields[key]; !ok {
		t.keys = append(t.keys, key)
	}
	t.fields[key] = &field{keyPos: keyPos, val: v}
}

// syntaxError is a TOML error with its position.
type syntaxError struct {
	pos Pos
	msg string
}

// parseTree decodes data into a positioned tree.
func parseTree(data []byte) (*tnode, *syntaxError) {
	// The decoder enforces the TOML rules the AST walk does not (duplicate
	// keys, table redefinition, invalid escapes in every position).
	var scratch map[string]any
	if err := toml.Unmarshal(data, &scratch); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			line, col := de.Position()
			msg := de.Error()
			if k := de.Key(); len(k) > 0 {
				msg += " (key `" + strings.Join(k, ".") + "`)"
			}
			return nil, &syntaxError{pos: Pos{Line: line, Col: col}, msg: msg}
		}
		return nil, &syntaxError{pos: Pos{Line: 1, Col: 1}, msg: err.Error()}
	}

	b := &builder{root: newTable(Pos{Line: 1, Col: 1})}
	b.p.Reset(data)
	b.cur = b.root
	for b.p.NextExpression() {
		if err := b.expr(b.p.Expression()); err != nil {
			return nil, err
		}
	}
	if err := b.p.Error(); err != nil {
		// Unreachable in practice: the decoder above accepted the document.
		pos := Pos{Line: 1, Col: 1}
		var pe *unstable.ParserError
		if errors.As(err, &pe) && len(pe.Highlight) > 0 {
			pos = b.posOf(pe.Highlight)
		}
		return nil, &syntaxError{pos: pos, msg: err.Error()}
	}
	return b.root, nil
}

type builder struct {
	p          unstable.Parser
	root       *tnode
	cur        *tnode
	lineStarts []int
}

// posOfRange is the 1-based line and byte column where r starts. Line starts
// are indexed once: the parser's own Shape rescans from the top each call.
func (b *builder) posOfRange(r unstable.Range) Pos {
	if b.lineStarts == nil {
		b.lineStarts = []int{0}
		for i, c := range b.p.Data() {
			if c == '\n' {
				b.lineStarts = append(b.lineStarts, i+1)
			}
		}
	}
	off := int(r.Offset)
	line := sort.Search(len(b.lineStarts), func(i int) bool { return b.lineStarts[i] > off })
	return Pos{Line: line, Col: off - b.lineStarts[line-1] + 1}
}

func (b *builder) posOf(highlight []byte) (pos Pos) {
	defer func() {
		if recover() != nil {
			pos = Pos{Line: 1, Col: 1}
		}
	}()
	return b.posOfRange(b.p.Range(highlight))
}

type keyPart struct {
	name string
	pos  Pos
}

func (b *builder) keyParts(n *unstable.Node) []keyPart {
	var parts []keyPart
	it := n.Key()
	for it.Next() {
		k := it.Node()
		parts = append(parts, keyPart{name: string(k.Data), pos: b.posOfRange(k.Raw)})
	}
	return parts
}

// headerPos is the position of the `[` that opens a table header whose first
// key starts at keyPos.
func (b *builder) headerPos(first unstable.Range) Pos {
	data := b.p.Data()
	off := int(first.Offset)
	for off > 0 {
		c := data[off-1]
		if c == '[' || c == ' ' || c == '\t' {
			off--
			continue
		}
		break
	}
	// Skip forward over any whitespace we walked back past.
	for off < int(first.Offset) && data[off] != '[' {
		off++
	}
	return b.posOfRange(unstable.Range{Offset: uint32(off), Length: 0}) //nolint:gosec // small documents
}

func (b *builder) expr(n *unstable.Node) *syntaxError {
	switch n.Kind {
	case unstable.Table, unstable.ArrayTable:
		parts := b.keyParts(n)
		if len(parts) == 0 {
			return nil
		}
		hpos := b.headerPos(n.Child().Raw)
		t := b.root
		for i, kp := range parts {
			last := i == len(parts)-1
			f := t.get(kp.name)
			if !last {
				if f == nil {
					nt := newTable(kp.pos)
					nt.implicit = true
					t.set(kp.name, kp.pos, nt)
					t = nt
					continue
				}
				t = descend(f.val)
				if t == nil {
					return &syntaxError{pos: kp.pos, msg: "key " + strconv.Quote(kp.name) + " is not a table"}
				}
				continue
			}
			if n.Kind == unstable.ArrayTable {
				if f == nil {
					arr := &tnode{kind: vArray, pos: hpos, arrayOfTables: true}
					t.set(kp.name, kp.pos, arr)
					f = t.get(kp.name)
				}
				if f.val.kind != vArray {
					return &syntaxError{pos: kp.pos, msg: "key " + strconv.Quote(kp.name) + " is not an array of tables"}
				}
				nt := newTable(hpos)
				f.val.items = append(f.val.items, nt)
				b.cur = nt
				return nil
			}
			if f == nil {
				nt := newTable(hpos)
				t.set(kp.name, kp.pos, nt)
				b.cur = nt
				return nil
			}
			if f.val.kind != vTable {
				return &syntaxError{pos: kp.pos, msg: "key " + strconv.Quote(kp.name) + " is not a table"}
			}
			// A table first created implicitly, now given its own header.
			f.val.implicit = false
			f.val.pos = hpos
			f.keyPos = kp.pos
			b.cur = f.val
			return nil
		}
	case unstable.KeyValue:
		return b.keyValue(b.cur, n)
	}
	return nil
}

// descend returns the table a dotted key or header continues into: a table,
// or the last table of an array of tables.
func descend(v *tnode) *tnode {
	switch v.kind {
	case vTable:
		return v
	case vArray:
		if len(v.items) > 0 && v.items[len(v.items)-1].kind == vTable {
			return v.items[len(v.items)-1]
		}
	}
	return nil
}

func (b *builder) keyValue(t *tnode, n *unstable.Node) *syntaxError {
	parts := b.keyParts(n)
	for i, kp := range parts {
		if i < len(parts)-1 {
			f := t.get(kp.name)
			if f == nil {
				nt := newTable(kp.pos)
				nt.implicit = true
				t.set(kp.name, kp.pos, nt)
				t = nt
				continue
			}
			if f.val.kind != vTable {
				return &syntaxError{pos: kp.pos, msg: "key " + strconv.Quote(kp.name) + " is not a table"}
			}
			t = f.val
			continue
		}
		v, err := b.value(n.Value(), b.valueStart(n, kp.pos))
		if err != nil {
			return err
		}
		t.set(kp.name, kp.pos, v)
	}
	return nil
}

// valueStart is the position of the value of key/value n: the AST gives
// arrays no range, so find the first byte after `=`.
func (b *builder) valueStart(n *unstable.Node, fallback Pos) Pos {
	var last unstable.Range
	it := n.Key()
	for it.Next() {
		last = it.Node().Raw
	}
	data := b.p.Data()
	off := int(last.Offset + last.Length)
	if off <= 0 || off > len(data) {
		return fallback
	}
	seenEq := false
	for off < len(data) {
		c := data[off]
		switch {
		case c == ' ' || c == '\t':
			off++
			continue
		case c == '=' && !seenEq:
			seenEq = true
			off++
			continue
		}
		break
	}
	if !seenEq || off >= len(data) {
		return fallback
	}
	return b.posOfRange(unstable.Range{Offset: uint32(off), Length: 0}) //nolint:gosec // small documents
}

// value converts an AST value; keyPos stands in for values the AST gives no
// range for (arrays).
func (b *builder) value(n *unstable.Node, keyPos Pos) (*tnode, *syntaxError) {
	pos := keyPos
	if n.Raw.Length > 0 {
		pos = b.posOfRange(n.Raw)
	}
	switch n.Kind {
	case unstable.String:
		return &tnode{kind: vString, pos: pos, str: string(n.Data)}, nil
	case unstable.Bool:
		return &tnode{kind: vBool, pos: pos, b: bytes.Equal(n.Data, []byte("true"))}, nil
	case unstable.Integer:
		i, err := strconv.ParseInt(string(n.Data), 0, 64)
		if err != nil {
			return nil, &syntaxError{pos: pos, msg: "invalid integer " + strconv.Quote(string(n.Data))}
		}
		return &tnode{kind: vInt, pos: pos, i: i, str: string(n.Data)}, nil
	case unstable.Float:
		return &tnode{kind: vFloat, pos: pos, str: string(n.Data)}, nil
	case unstable.LocalDate, unstable.LocalTime, unstable.LocalDateTime, unstable.DateTime:
		return &tnode{kind: vDate, pos: pos, str: string(n.Data)}, nil
	case unstable.Array:
		arr := &tnode{kind: vArray, pos: pos}
		it := n.Children()
		for it.Next() {
			c := it.Node()
			if c.Kind == unstable.Comment {
				continue
			}
			cv, err := b.value(c, keyPos)
			if err != nil {
				return nil, err
			}
			arr.items = append(arr.items, cv)
		}
		return arr, nil
	case unstable.InlineTable:
		t := newTable(pos)
		it := n.Children()
		for it.Next() {
			c := it.Node()
			if c.Kind != unstable.KeyValue {
				continue
			}
			if err := b.keyValue(t, c); err != nil {
				return nil, err
			}
		}
		return t, nil
	}
	return nil, &syntaxError{pos: pos, msg: "unsupported value " + n.Kind.String()}
}
