package publish

import (
	"context"
	"errors"

	"github.com/putitoutthere/putitoutthere/internal/diag"
	"github.com/putitoutthere/putitoutthere/internal/secret"
)

// Attester is a Handler that signs provenance for what a job will upload
// (PyPI's PEP 740 attestations). Attest runs for every job before the first
// upload of the run; it signs, verifies its own signatures against the bytes
// that will be uploaded, and returns lines for the report.
type Attester interface {
	Attest(ctx context.Context, j Job, c *Credential) (notes []string, err error)
}

// attestAll signs every job's provenance before anything is uploaded, so an
// attestation the registry would refuse stops the run while nothing has
// shipped. It runs after "lock": signing records entries in a public
// transparency log, which a preflight check must not do.
func (r *flow) attestAll(ctx context.Context) error {
	if r.o.DryRun {
		return nil
	}
	for i, j := range r.jobs {
		if r.published[j.Package.Name] {
			continue
		}
		a, ok := r.o.Handlers[j.Package.Kind].(Attester)
		if !ok {
			continue
		}
		notes, err := a.Attest(ctx, j, r.creds[j.Package.Name])
		for _, n := range notes {
			r.rep.Packages[i].Notes = append(r.rep.Packages[i].Notes, n)
			r.logf("%s: %s", j.Package.Name, n)
		}
		if err != nil {
			r.rep.Packages[i].Error, r.rep.Packages[i].Code = secret.Redact(err.Error()), diag.CodeOf(err)
			var de *diag.Error
			if !errors.As(err, &de) {
				de = diag.New(CodePublishFailed, "attesting %s", j.Package.Name).Wrap(err)
			}
			out := *de
			out.Msg = "nothing was published: " + j.Package.Name + ": " + de.Msg
			return &out
		}
	}
	return nil
}
