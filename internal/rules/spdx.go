package rules

import (
	"errors"
	"regexp"
	"strconv"
	"strings"

	"github.com/github/go-spdx/v2/spdxexp"
)

var (
	spdxOffsetRe = regexp.MustCompile(`^unknown license '([^']*)' at offset (\d+)$`)
	spdxTermRe   = regexp.MustCompile(`[A-Za-z0-9.+:-]+`)
)

// SPDXCheck validates a license expression with the SPDX license list
// (github.com/github/go-spdx). slashOr accepts "/" as OR and deprecated
// identifiers as crates.io's parse mode does (rust-lang/crates.io
// src/licenses.rs: allow_slash_as_or_operator, allow_deprecated,
// allow_postfix_plus_on_gpl; identifiers are case-sensitive). The error is
// the spdx crate's: the expression, a caret line under the bad term, and the
// reason.
func SPDXCheck(expr string, slashOr bool) (string, error) {
	e := expr
	if slashOr {
		e = strings.ReplaceAll(e, "/", " OR ")
	}
	if strings.TrimSpace(e) == "" {
		return "", errors.New(expr + "\n^ empty expression")
	}
	for _, r := range e {
		if !(r == ' ' || r == '(' || r == ')' || r == '+' || r == '.' || r == '-' || r == ':' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			i := strings.IndexRune(expr, r)
			return "", errors.New(caret(expr, i, i+len(string(r)), "invalid character(s)"))
		}
	}
	// Identifiers are matched exactly: "mit" is not "MIT".
	prev := ""
	for _, loc := range spdxTermRe.FindAllStringIndex(e, -1) {
		term := e[loc[0]:loc[1]]
		after := prev
		prev = term
		switch term {
		case "AND", "OR", "WITH":
			continue
		}
		if strings.HasPrefix(term, "LicenseRef-") || strings.HasPrefix(term, "DocumentRef-") {
			continue
		}
		id := strings.TrimSuffix(term, "+")
		if ok, canon := spdxexp.ActiveLicense(id); ok && canon == id && after != "WITH" {
			continue
		}
		if known(id, after == "WITH") {
			continue
		}
		start := origOffset(expr, e, loc[0], slashOr)
		return "", errors.New(caret(expr, start, start+len(term), "unknown term"))
	}
	if ok, _ := spdxexp.ValidateLicenses([]string{e}); !ok {
		_, err := spdxexp.ExtractLicenses(e)
		msg := "invalid expression"
		if err != nil {
			if m := spdxOffsetRe.FindStringSubmatch(err.Error()); m != nil {
				off, _ := strconv.Atoi(m[2])
				start := origOffset(expr, e, off, slashOr)
				return "", errors.New(caret(expr, start, start+len(m[1]), "unknown term"))
			}
			msg = err.Error()
		}
		return "", errors.New(expr + "\n^ " + msg)
	}
	return e, nil
}

// known: a deprecated license id (or, after WITH, an exception), spelled
// exactly as the SPDX list spells it.
func known(id string, exception bool) bool {
	probe, want := id, id
	if exception {
		probe, want = "MIT WITH "+id, "MIT WITH "+id
	}
	norm, bad := spdxexp.ValidateAndNormalizeLicensesWithOptions([]string{probe}, spdxexp.ValidateLicensesOptions{})
	return len(bad) == 0 && len(norm) == 1 && norm[0] == want
}

func origOffset(orig, rewritten string, off int, slashOr bool) int {
	if !slashOr || orig == rewritten {
		return off
	}
	// Each "/" became " OR " (3 bytes longer).
	o, r := 0, 0
	for r < off && o < len(orig) {
		if orig[o] == '/' {
			r += 4
		} else {
			r++
		}
		o++
	}
	return o
}

func caret(expr string, start, end int, reason string) string {
	if end <= start {
		end = start + 1
	}
	return expr + "\n" + strings.Repeat(" ", start) + strings.Repeat("^", end-start) + " " + reason
}

var spdxOpRe = regexp.MustCompile(`(?i)\b(and|or|with)\b`)

// SPDXValidPEP639 is packaging's canonicalize_license_expression as far as
// validity goes: identifiers and operators match case-insensitively
// ("mit or apache-2.0" is valid), LicenseRef- is allowed, "/" is not.
func SPDXValidPEP639(expr string) bool {
	if strings.TrimSpace(expr) == "" || strings.Contains(expr, "/") {
		return false
	}
	e := spdxOpRe.ReplaceAllStringFunc(expr, strings.ToUpper)
	ok, _ := spdxexp.ValidateLicenses([]string{e})
	return ok
}
