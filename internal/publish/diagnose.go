package publish

import (
	"errors"
	"fmt"
	"strings"

	"github.com/putitoutthere/putitoutthere/internal/auth"
	"github.com/putitoutthere/putitoutthere/internal/diag"
)

// Which claim each registry reads the workflow file from (protocols.md §0).
const (
	WorkflowClaimCaller = "workflow_ref"     // crates.io, npm: the top-level workflow
	WorkflowClaimJob    = "job_workflow_ref" // PyPI: the workflow that defines the job
)

// PresentedClaims lists the claims of an ID token a registry matches against
// its trusted publisher, never the token itself. workflowClaim says which
// claim the registry reads the workflow file from.
func PresentedClaims(idToken, workflowClaim string) []string {
	claims, err := auth.DecodeClaims(idToken)
	if err != nil {
		return []string{"claims: the ID token could not be decoded: " + err.Error()}
	}
	s := func(k string) string {
		if v := auth.ClaimString(claims, k); v != "" {
			return v
		}
		return "(absent)"
	}
	wf := auth.WorkflowFile(auth.ClaimString(claims, workflowClaim))
	if wf == "" {
		wf = "(absent)"
	}
	out := []string{
		"presented repository: " + s("repository"),
		fmt.Sprintf("presented workflow file (from %s): %s", workflowClaim, wf),
		"presented environment: " + s("environment"),
		"presented ref: " + s("ref"),
	}
	if workflowClaim == WorkflowClaimJob && auth.ClaimString(claims, "job_workflow_ref") != auth.ClaimString(claims, "workflow_ref") {
		out = append(out, "note: the job runs in a reusable workflow ("+auth.WorkflowFile(auth.ClaimString(claims, "job_workflow_ref"))+"); PyPI matches that file, and only when it lives in the same repository at the same ref")
	}
	return out
}

// Refusal decorates a registry's refusal of a trust exchange with what SPEC
// §5 asks for: the claims presented, where to compare them, and what happens
// with the token fallback. The registry's own code and message stay in err.
func Refusal(err error, code, registry, idToken, workflowClaim, comparePage, fallback string) *diag.Error {
	var de *diag.Error
	if errors.As(err, &de) {
		cp := *de
		de = &cp
	} else {
		de = diag.New(code, "%s refused the trusted-publishing exchange", registry).Wrap(err)
	}
	if de.Code == "" {
		de.Code = code
	}
	// The registry's full answer (with the URL that refused) goes first among
	// the details rather than being appended after the last one.
	var answer []string
	if de.Err != nil {
		if txt := firstLineOf(de.Err.Error()); txt != "" && !strings.Contains(de.Msg, answerText(txt)) {
			answer = []string{"registry answer: " + txt}
		}
		de.Err = quiet{de.Err}
	}
	if len(de.Details) == 0 && idToken != "" {
		de.Details = PresentedClaims(idToken, workflowClaim)
	}
	de.Details = append(answer, de.Details...)
	de.Details = append(de.Details, "compare with: "+comparePage)
	de.Details = append(de.Details, "token fallback: "+fallback)
	if de.Hint == "" {
		de.Hint = "make the trusted publisher registered on " + registry + " match the presented claims (repository, workflow file, environment), or fix the workflow to match it"
	}
	return de
}

// quiet keeps an error in the chain (errors.Is/As) without diag.Error
// printing its text a second time.
type quiet struct{ err error }

func (q quiet) Error() string { return "" }
func (q quiet) Unwrap() error { return q.err }

func firstLineOf(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// answerText is what a registry said, without the "… HTTP 400: " lead-in, so
// an answer the message already quotes is not printed a second time.
func answerText(s string) string {
	if i := strings.LastIndex(s, "HTTP "); i >= 0 {
		if _, rest, ok := strings.Cut(s[i:], ": "); ok && rest != "" {
			return rest
		}
	}
	return s
}
