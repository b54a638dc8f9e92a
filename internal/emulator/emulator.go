// Package emulator starts the whole set of in-process services a release
// talks to: the Actions OIDC issuer and crates.io, PyPI, npm and GitHub, the
// registries trusting the issuer. Rehearsal and the end-to-end tests use it.
package emulator

import (
	"github.com/putitoutthere/putitoutthere/internal/emulator/crates"
	"github.com/putitoutthere/putitoutthere/internal/emulator/fault"
	"github.com/putitoutthere/putitoutthere/internal/emulator/github"
	"github.com/putitoutthere/putitoutthere/internal/emulator/npm"
	"github.com/putitoutthere/putitoutthere/internal/emulator/oidc"
	"github.com/putitoutthere/putitoutthere/internal/emulator/pypi"
	"github.com/putitoutthere/putitoutthere/internal/emulator/sigstore"
)

// Set is a running set of emulators, each on its own 127.0.0.1 port.
type Set struct {
	OIDC   *oidc.Issuer
	Crates *crates.Server
	PyPI   *pypi.Server
	NPM    *npm.Server
	GitHub *github.Server
	// Sigstore is the certificate authority and transparency log
	// attestations are signed with; PyPI verifies them against its root.
	Sigstore *sigstore.Server
}

// Start starts every emulator with default options; on an error the ones
// already started are stopped.
func Start() (s *Set, err error) {
	s = &Set{}
	defer func() {
		if err != nil {
			s.Close()
			s = nil
		}
	}()
	if s.OIDC, err = oidc.Start(); err != nil {
		return s, err
	}
	if s.Crates, err = crates.Start(crates.Options{Verifier: s.OIDC}); err != nil {
		return s, err
	}
	if s.Sigstore, err = sigstore.Start(sigstore.Options{Verifier: s.OIDC}); err != nil {
		return s, err
	}
	if s.PyPI, err = pypi.Start(pypi.Options{Verifier: s.OIDC, Sigstore: s.Sigstore.TrustedRoot(), SigstoreEnv: s.Sigstore.Env()}); err != nil {
		return s, err
	}
	if s.NPM, err = npm.Start(npm.Options{Verifier: s.OIDC}); err != nil {
		return s, err
	}
	if s.GitHub, err = github.Start(github.Options{}); err != nil {
		return s, err
	}
	return s, nil
}

// Close stops every emulator that was started.
func (s *Set) Close() {
	if s.OIDC != nil {
		s.OIDC.Close()
	}
	if s.Crates != nil {
		s.Crates.Close()
	}
	if s.PyPI != nil {
		s.PyPI.Close()
	}
	if s.NPM != nil {
		s.NPM.Close()
	}
	if s.GitHub != nil {
		s.GitHub.Close()
	}
	if s.Sigstore != nil {
		s.Sigstore.Close()
	}
}

// Registries are the services' fault injectors by display name, in a
// fixed order (crates.io, PyPI, npm, GitHub, Sigstore).
func (s *Set) Registries() []Named {
	return []Named{{"crates.io", &s.Crates.Faults}, {"PyPI", &s.PyPI.Faults}, {"npm", &s.NPM.Faults}, {"GitHub", &s.GitHub.Faults}, {"Sigstore", &s.Sigstore.Faults}}
}

// Named is a registry's name and its fault injector (and request log).
type Named struct {
	Name   string
	Faults *fault.Injector
}
