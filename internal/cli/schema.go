package cli

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// SchemaVersion is the version of every --json document's shape. It is
// bumped when a field is removed or changes meaning (adding a field does not
// bump it); docs/cli.md describes each shape.
const SchemaVersion = 1

// withSchema encodes v (indented, HTML left alone) with "schema" as the
// first key of an object that lacks one.
func withSchema(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	raw := bytes.TrimSpace(buf.Bytes())
	if len(raw) > 0 && raw[0] == '{' {
		var keys map[string]json.RawMessage
		if json.Unmarshal(raw, &keys) == nil {
			if _, has := keys["schema"]; !has {
				head := []byte(`{"schema":` + strconv.Itoa(SchemaVersion))
				if len(keys) > 0 {
					head = append(head, ',')
				}
				raw = append(head, raw[1:]...)
			}
		}
	}
	var out bytes.Buffer
	if err := json.Indent(&out, raw, "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}
