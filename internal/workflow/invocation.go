package workflow

import (
	"bytes"
	"path"
	"strings"
)

// Command is what a shell command line does with putitoutthere.
type Command int

const (
	NotOurs Command = iota // no putitoutthere publish here
	Publish                // a real publish
	DryRun                 // publish --dry-run / --preflight-check: changes nothing
)

// globalFlagsWithValue are root flags that take the next word as their value.
var globalFlagsWithValue = map[string]bool{"--cwd": true, "--config": true}

// RunCommands classifies every logical line of a `run:` script and returns
// the 0-based line offsets (within the script) of putitoutthere publish
// invocations that are live, and of those that are shell comments.
func RunCommands(script string) (live, commented []int) {
	if !strings.Contains(script, "putitoutthere") {
		return nil, nil
	}
	lines := strings.Split(script, "\n")
	for i := 0; i < len(lines); i++ {
		start := i
		logical := lines[i]
		// Join backslash continuations so `putitoutthere \` + `publish` counts.
		for strings.HasSuffix(strings.TrimRight(logical, " \t\r"), `\`) && i+1 < len(lines) {
			logical = strings.TrimSuffix(strings.TrimRight(logical, " \t\r"), `\`) + " " + lines[i+1]
			i++
		}
		trimmed := strings.TrimSpace(logical)
		if strings.HasPrefix(trimmed, "#") {
			if Classify(strings.TrimLeft(trimmed, "# \t")) == Publish {
				commented = append(commented, start)
			}
			continue
		}
		code, comment := splitComment(logical)
		if Classify(code) == Publish {
			live = append(live, start)
		} else if comment != "" && Classify(comment) == Publish {
			commented = append(commented, start)
		}
	}
	return live, commented
}

// splitComment cuts a shell line at a `#` that starts a word outside quotes.
func splitComment(s string) (code, comment string) {
	var quote rune
	prev := ' '
	for i, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '\'' || r == '"':
			quote = r
		case r == '#' && (prev == ' ' || prev == '\t'):
			return s[:i], s[i+1:]
		}
		prev = r
	}
	return s, ""
}

// Classify reads one shell command line (possibly several commands joined by
// && ; | ||) and says whether it runs `putitoutthere publish`. It knows the
// forms people use: `putitoutthere publish`, `npx [-y] putitoutthere[@v]
// publish`, `./putitoutthere publish`, `go run …/cmd/putitoutthere publish`,
// `pnpm dlx`/`bunx`/`yarn dlx`, leading VAR=value assignments, and root flags
// (`--cwd dir`, `--json`) before the subcommand.
func Classify(line string) Command {
	if !strings.Contains(line, "putitoutthere") {
		return NotOurs
	}
	result := NotOurs
	for _, seg := range splitCommands(line) {
		words := strings.Fields(seg)
		i := commandStart(words)
		if i < 0 || !isTool(words[i]) {
			continue
		}
		sub, rest := subcommand(words[i+1:])
		if sub != "publish" {
			continue
		}
		c := Publish
		for _, r := range rest {
			r = unquote(r)
			if r == "--dry-run" || r == "--preflight-check" || strings.HasPrefix(r, "--dry-run=") && r != "--dry-run=false" {
				c = DryRun
			}
		}
		if c == Publish {
			return Publish
		}
		result = c
	}
	return result
}

// commandStart returns the index of the word that is the program a shell
// command runs, looking through VAR=value prefixes, wrappers (env, sudo, time,
// exec) and package runners (npx, bunx, pnpm dlx, yarn dlx, npm exec, go run).
// It returns -1 when the segment is empty.
func commandStart(words []string) int {
	i := 0
	skipFlags := func(withValue map[string]bool) {
		for i < len(words) && strings.HasPrefix(words[i], "-") {
			if words[i] == "--" {
				i++
				return
			}
			if withValue[words[i]] {
				i++
			}
			i++
		}
	}
	for i < len(words) {
		w := words[i]
		switch {
		case strings.Contains(w, "=") && !strings.HasPrefix(w, "-") && !strings.ContainsAny(w[:strings.Index(w, "=")], `/"'`):
			i++ // VAR=value
		case w == "env" || w == "sudo" || w == "time" || w == "exec" || w == "command" || w == "nohup":
			i++
			skipFlags(nil)
		case w == "npx" || w == "bunx" || w == "pnpx":
			i++
			skipFlags(map[string]bool{"-p": true, "--package": true})
			return bound(i, words)
		case w == "pnpm" || w == "yarn" || w == "npm" || w == "bun":
			i++
			if i < len(words) && (words[i] == "dlx" || words[i] == "exec" || words[i] == "x" || words[i] == "run") {
				i++
			}
			skipFlags(map[string]bool{"-p": true, "--package": true})
			return bound(i, words)
		case w == "go" && i+1 < len(words) && words[i+1] == "run":
			i += 2
			skipFlags(nil)
			return bound(i, words)
		default:
			return i
		}
	}
	return -1
}

func bound(i int, words []string) int {
	if i >= len(words) {
		return -1
	}
	return i
}

// commandSeparators split a shell line into the commands it runs.
var commandSeparators = strings.NewReplacer("&&", "\n", "||", "\n", ";", "\n", "|", "\n", "$(", "\n", "`", "\n", ")", "\n")

func splitCommands(s string) []string {
	return strings.Split(commandSeparators.Replace(s), "\n")
}

func unquote(w string) string { return strings.Trim(w, `'"`) }

// isTool reports whether word names the putitoutthere binary or package.
func isTool(word string) bool {
	w := unquote(word)
	if strings.HasPrefix(w, "-") {
		// npx --package=putitoutthere names the package, not the command.
		return false
	}
	w = strings.TrimSuffix(w, ".exe")
	base := path.Base(strings.ReplaceAll(w, `\`, "/"))
	if i := strings.Index(base, "@"); i > 0 {
		base = base[:i]
	}
	return base == "putitoutthere"
}

// subcommand returns the first word after the root flags, and the words after it.
func subcommand(words []string) (string, []string) {
	for i := 0; i < len(words); i++ {
		w := unquote(words[i])
		if strings.HasPrefix(w, "-") {
			if globalFlagsWithValue[w] {
				i++
			}
			continue
		}
		return w, words[i+1:]
	}
	return "", nil
}

// commentedInvocations scans the raw file for YAML or shell comments that
// hold a publish invocation (the usual state after a temporary rollback).
// It returns 1-based line numbers and the 1-based column of each `#`.
func commentedInvocations(data []byte) (lines, cols []int) {
	if !bytes.Contains(data, []byte("putitoutthere")) {
		return nil, nil
	}
	src := strings.Split(string(data), "\n")
	sawAction, actionCol := -10, 0
	for i, l := range src {
		_, comment := splitComment(" " + l)
		if comment == "" {
			continue
		}
		col := len(l) - len(comment) + 1
		c := strings.TrimSpace(strings.TrimLeft(comment, "# \t"))
		c = strings.TrimPrefix(c, "- ")
		lc := strings.ToLower(c)
		switch {
		case strings.HasPrefix(lc, "run:") && Classify(c[4:]) == Publish:
			lines, cols = append(lines, i+1), append(cols, col)
		case Classify(c) == Publish:
			lines, cols = append(lines, i+1), append(cols, col)
		case strings.HasPrefix(lc, "uses:") && isActionRef(strings.TrimSpace(c[5:]), false):
			sawAction, actionCol = i, col
		case i-sawAction <= 4 && strings.ReplaceAll(lc, " ", "") == "command:publish":
			lines, cols = append(lines, sawAction+1), append(cols, actionCol)
			sawAction = -10
		}
	}
	return lines, cols
}

// isActionRef reports whether uses names the putitoutthere action: the
// original `thekevinscott/putitoutthere@…`, this project's
// `putitoutthere/putitoutthere@…`, or `./` when the repository itself is the
// action (localAction).
func isActionRef(uses string, localAction bool) bool {
	u := strings.ToLower(unquote(strings.TrimSpace(uses)))
	if localAction && (u == "./" || u == ".") {
		return true
	}
	repo, _, _ := strings.Cut(u, "@")
	repo = strings.TrimSuffix(repo, "/")
	return repo == "thekevinscott/putitoutthere" || repo == "putitoutthere/putitoutthere"
}

// StepCommand says what a step does with putitoutthere, and the 1-based
// file line of the invocation.
func StepCommand(s *Step, localAction bool) (Command, int) {
	if s.Uses != "" {
		if !isActionRef(s.Uses, localAction) {
			return NotOurs, 0
		}
		if !strings.EqualFold(strings.TrimSpace(s.With["command"]), "publish") {
			return NotOurs, 0
		}
		for _, k := range []string{"dry-run", "dry_run"} {
			if v := strings.ToLower(strings.TrimSpace(s.With[k])); v == "true" {
				return DryRun, s.Line
			}
		}
		return Publish, s.Line
	}
	if s.Run == "" {
		return NotOurs, 0
	}
	live, _ := RunCommands(s.Run)
	if len(live) > 0 {
		return Publish, runLine(s, live[0])
	}
	for _, l := range strings.Split(s.Run, "\n") {
		if Classify(l) == DryRun {
			return DryRun, s.Line
		}
	}
	return NotOurs, 0
}

// runLine maps an offset within a run: script to a file line. A block scalar
// (`run: |`) starts on the line after the key.
func runLine(s *Step, offset int) int {
	base := s.RunPos
	if base == 0 {
		base = s.Line
	}
	if strings.Contains(s.Run, "\n") {
		return base + 1 + offset
	}
	return base + offset
}
