package cli

// SchemaVersion is the version of every --json document's shape. It is
// bumped when a field is removed or changes meaning (adding a field does not
// bump it); docs/cli.md describes each shape.
const SchemaVersion = 1
