// Package sigstore emulates the Sigstore services a signer talks to: a
// Fulcio-like certificate authority (POST /api/v2/signingCert) that issues
// ten-minute certificates for ID tokens of the emulated GitHub Actions issuer
// with audience "sigstore", a Rekor-like transparency log
// (POST /api/v1/log/entries) answering with a signed entry timestamp and an
// inclusion proof against a signed checkpoint, and the trust root both are
// verified with (GET /api/v1/trusted_root, the trusted_root.json format).
//
// The wire shapes are those sigstore-go's Fulcio and Rekor clients speak
// (sigstore-go pkg/sign/certificate.go and transparency.go); the log's
// entries are canonicalised by rekor's own types package, as Rekor does.
// Left out: signed certificate timestamps (no CT log), timestamp authorities
// and Rekor v2 tiles.
package sigstore

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/go-openapi/runtime"
	"github.com/golang-jwt/jwt/v5"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"github.com/sigstore/rekor/pkg/generated/models"
	"github.com/sigstore/rekor/pkg/types"
	_ "github.com/sigstore/rekor/pkg/types/dsse/v0.0.1" // the entry kind attestations use
	_ "github.com/sigstore/rekor/pkg/types/hashedrekord/v0.0.1"
	rekorutil "github.com/sigstore/rekor/pkg/util"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/signature"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/putitoutthere/putitoutthere/internal/attest"
	"github.com/putitoutthere/putitoutthere/internal/emulator/fault"
)

// Audience is the audience Fulcio requires in ID tokens.
const Audience = "sigstore"

// Verifier checks a GitHub Actions ID token; *oidc.Issuer satisfies it.
type Verifier interface {
	Verify(token, aud string, leeway time.Duration) (jwt.MapClaims, error)
}

// Options configure a Server.
type Options struct {
	Verifier Verifier
	// CertLifetime is how long issued certificates are valid (10 minutes,
	// as Fulcio's).
	CertLifetime time.Duration
	// Now is the server clock (time.Now).
	Now func() time.Time
}

// Server is a running Sigstore emulator (CA, log and trust root on one port).
type Server struct {
	Faults fault.Injector

	opts Options
	srv  *httptest.Server

	caKey  *ecdsa.PrivateKey
	caCert *x509.Certificate

	logKey    *ecdsa.PrivateKey
	logSigner signature.Signer
	logID     []byte // sha256 of the log key's DER public key
	treeID    int64
	start     time.Time

	mu      sync.Mutex
	leaves  [][]byte       // canonicalised bodies, in log order
	times   []int64        // integrated times
	byUUID  map[string]int // entry UUID (hex leaf hash) → index
	issued  []*x509.Certificate
	rootDoc []byte
	trusted *root.TrustedRoot
}

// Start generates a CA and a log key and starts the server on 127.0.0.1.
func Start(opts Options) (*Server, error) {
	if opts.CertLifetime == 0 {
		opts.CertLifetime = 10 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{opts: opts, byUUID: map[string]int{}, treeID: 1193050959916656506}
	s.start = opts.Now().Add(-time.Hour).Truncate(time.Second)
	var err error
	if s.caKey, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader); err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{Organization: []string{"sigstore.dev"}, CommonName: "sigstore-emulator"},
		NotBefore:             s.start,
		NotAfter:              s.start.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            1,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &s.caKey.PublicKey, s.caKey)
	if err != nil {
		return nil, err
	}
	if s.caCert, err = x509.ParseCertificate(der); err != nil {
		return nil, err
	}
	if s.logKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, err
	}
	if s.logSigner, err = signature.LoadECDSASignerVerifier(s.logKey, crypto.SHA256); err != nil {
		return nil, err
	}
	logDER, err := x509.MarshalPKIXPublicKey(&s.logKey.PublicKey)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(logDER)
	s.logID = sum[:]

	// Entries from other signers already in the log: proofs have a path,
	// and indexes do not start at 0.
	for i := 0; i < 5; i++ {
		leaf := make([]byte, 32)
		_, _ = rand.Read(leaf)
		s.leaves = append(s.leaves, leaf)
		s.times = append(s.times, s.start.Unix())
	}

	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v2/signingCert", s.serveSigningCert)
	mux.HandleFunc("POST /api/v1/log/entries", s.serveCreateEntry)
	mux.HandleFunc("GET /api/v1/log/entries/{uuid}", s.serveGetEntry)
	mux.HandleFunc("GET /api/v1/trusted_root", s.serveTrustedRoot)
	s.srv = httptest.NewServer(s.Faults.Wrap(mux))
	if err := s.buildTrustedRoot(logDER); err != nil {
		s.srv.Close()
		return nil, err
	}
	return s, nil
}

// Close stops the server.
func (s *Server) Close() { s.Faults.Clear(); s.srv.Close() }

// URL is the base URL of the CA and the log.
func (s *Server) URL() string { return s.srv.URL }

// TrustedRootURL serves the trust root as trusted_root.json.
func (s *Server) TrustedRootURL() string { return s.srv.URL + "/api/v1/trusted_root" }

// TrustedRoot is the trust root, for verifiers in the same process.
func (s *Server) TrustedRoot() *root.TrustedRoot { return s.trusted }

// Env returns the variables that point putitoutthere at this emulator.
func (s *Server) Env() map[string]string {
	return map[string]string{
		attest.EnvFulcioURL:   s.URL(),
		attest.EnvRekorURL:    s.URL(),
		attest.EnvTrustedRoot: s.TrustedRootURL(),
	}
}

// Entries is the number of entries logged by this emulator's clients.
func (s *Server) Entries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byUUID)
}

// Issued are the certificates issued so far.
func (s *Server) Issued() []*x509.Certificate {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*x509.Certificate(nil), s.issued...)
}

func (s *Server) buildTrustedRoot(logDER []byte) error {
	valid := &protocommon.TimeRange{Start: timestamppb.New(s.start)}
	pb := &prototrustroot.TrustedRoot{
		MediaType: root.TrustedRootMediaType01,
		Tlogs: []*prototrustroot.TransparencyLogInstance{{
			BaseUrl:       s.URL(),
			HashAlgorithm: protocommon.HashAlgorithm_SHA2_256,
			PublicKey: &protocommon.PublicKey{
				RawBytes:   logDER,
				KeyDetails: protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256,
				ValidFor:   valid,
			},
			LogId: &protocommon.LogId{KeyId: s.logID},
		}},
		CertificateAuthorities: []*prototrustroot.CertificateAuthority{{
			Subject:   &protocommon.DistinguishedName{Organization: "sigstore.dev", CommonName: "sigstore-emulator"},
			Uri:       s.URL(),
			CertChain: &protocommon.X509CertificateChain{Certificates: []*protocommon.X509Certificate{{RawBytes: s.caCert.Raw}}},
			ValidFor:  valid,
		}},
	}
	doc, err := protojson.Marshal(pb)
	if err != nil {
		return err
	}
	tr, err := root.NewTrustedRootFromProtobuf(pb)
	if err != nil {
		return err
	}
	s.rootDoc, s.trusted = doc, tr
	return nil
}

func (s *Server) serveTrustedRoot(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(s.rootDoc)
}

// fulcioError answers as Fulcio's gRPC gateway does: {"code":N,"message":…}.
func fulcioError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"code": code, "message": msg, "details": []any{}})
}

type certRequest struct {
	Credentials struct {
		OIDCIdentityToken string `json:"oidcIdentityToken"`
	} `json:"credentials"`
	PublicKeyRequest struct {
		PublicKey struct {
			Algorithm string `json:"algorithm"`
			Content   string `json:"content"`
		} `json:"publicKey"`
		ProofOfPossession string `json:"proofOfPossession"`
	} `json:"publicKeyRequest"`
}

// Fulcio's messages (fulcio pkg/server/error.go).
const (
	msgInvalidIdentityToken = "There was an error processing the identity token"
	msgInvalidPublicKey     = "The public key supplied in the request could not be parsed"
	msgFailedToVerifyPoP    = "The signature supplied in the request could not be verified"
)

func (s *Server) serveSigningCert(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		fulcioError(w, http.StatusBadRequest, 3, "reading request: "+err.Error())
		return
	}
	var req certRequest
	if err := json.Unmarshal(body, &req); err != nil {
		fulcioError(w, http.StatusBadRequest, 3, "malformed request: "+err.Error())
		return
	}
	tok := req.Credentials.OIDCIdentityToken
	if h := r.Header.Get("Authorization"); tok == "" && strings.HasPrefix(h, "Bearer ") {
		tok = strings.TrimPrefix(h, "Bearer ")
	}
	if s.opts.Verifier == nil || tok == "" {
		fulcioError(w, http.StatusUnauthorized, 16, msgInvalidIdentityToken)
		return
	}
	claims, err := s.opts.Verifier.Verify(tok, Audience, time.Minute)
	if err != nil {
		fulcioError(w, http.StatusUnauthorized, 16, msgInvalidIdentityToken)
		return
	}
	block, _ := pem.Decode([]byte(req.PublicKeyRequest.PublicKey.Content))
	if block == nil {
		fulcioError(w, http.StatusBadRequest, 3, msgInvalidPublicKey)
		return
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		fulcioError(w, http.StatusBadRequest, 3, msgInvalidPublicKey)
		return
	}
	// Proof of possession: the token's subject signed with the key.
	sub, _ := claims["sub"].(string)
	pop, err := base64.StdEncoding.DecodeString(req.PublicKeyRequest.ProofOfPossession)
	if err != nil || !verifyPoP(pub, []byte(sub), pop) {
		fulcioError(w, http.StatusBadRequest, 3, msgFailedToVerifyPoP)
		return
	}
	cert, err := s.issue(pub, claims)
	if err != nil {
		fulcioError(w, http.StatusBadRequest, 3, err.Error())
		return
	}
	chain := []string{
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})),
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.caCert.Raw})),
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK) // sigstore-go's client accepts only 200
	_ = json.NewEncoder(w).Encode(map[string]any{
		"signedCertificateDetachedSct": map[string]any{"chain": map[string]any{"certificates": chain}},
	})
}

func verifyPoP(pub crypto.PublicKey, msg, sig []byte) bool {
	k, ok := pub.(*ecdsa.PublicKey)
	if !ok {
		return false
	}
	for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		d := h.New()
		d.Write(msg)
		if ecdsa.VerifyASN1(k, d.Sum(nil), sig) {
			return true
		}
	}
	return false
}

// Fulcio's certificate extensions (fulcio docs/oid-info.md), GitHub
// Actions mapping (fulcio pkg/identity/github/principal.go).
var (
	oidIssuerV1               = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 1}
	oidIssuer                 = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8}
	oidBuildSignerURI         = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 9}
	oidBuildSignerDigest      = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 10}
	oidRunnerEnvironment      = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 11}
	oidSourceRepositoryURI    = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 12}
	oidSourceRepositoryDigest = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 13}
	oidSourceRepositoryRef    = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 14}
	oidSourceRepositoryID     = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 15}
	oidSourceRepoOwnerURI     = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 16}
	oidSourceRepoOwnerID      = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 17}
	oidBuildConfigURI         = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 18}
	oidBuildConfigDigest      = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 19}
	oidBuildTrigger           = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 20}
	oidRunInvocationURI       = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 21}
	oidSourceRepoVisibility   = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 22}
)

func (s *Server) issue(pub crypto.PublicKey, c jwt.MapClaims) (*x509.Certificate, error) {
	str := func(k string) string { v, _ := c[k].(string); return v }
	iss := str("iss")
	jobRef := str("job_workflow_ref")
	if jobRef == "" || str("repository") == "" {
		return nil, errors.New("token is missing the job_workflow_ref or repository claim")
	}
	const gh = "https://github.com/"
	san := gh + jobRef
	exts := []pkix.Extension{{Id: oidIssuerV1, Value: []byte(iss)}}
	add := func(oid asn1.ObjectIdentifier, v string) {
		if v == "" {
			return
		}
		der, _ := asn1.MarshalWithParams(v, "utf8")
		exts = append(exts, pkix.Extension{Id: oid, Value: der})
	}
	add(oidIssuer, iss)
	add(oidBuildSignerURI, san)
	add(oidBuildSignerDigest, str("job_workflow_sha"))
	add(oidRunnerEnvironment, str("runner_environment"))
	add(oidSourceRepositoryURI, gh+str("repository"))
	add(oidSourceRepositoryDigest, str("sha"))
	add(oidSourceRepositoryRef, str("ref"))
	add(oidSourceRepositoryID, str("repository_id"))
	add(oidSourceRepoOwnerURI, gh+str("repository_owner"))
	add(oidSourceRepoOwnerID, str("repository_owner_id"))
	if wf := str("workflow_ref"); wf != "" {
		add(oidBuildConfigURI, gh+wf)
	}
	add(oidBuildConfigDigest, str("workflow_sha"))
	add(oidBuildTrigger, str("event_name"))
	if run := str("run_id"); run != "" {
		add(oidRunInvocationURI, gh+str("repository")+"/actions/runs/"+run+"/attempts/"+str("run_attempt"))
	}
	add(oidSourceRepoVisibility, str("repository_visibility"))

	sanURI, err := parseURI(san)
	if err != nil {
		return nil, err
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 159))
	now := s.opts.Now()
	tmpl := &x509.Certificate{
		SerialNumber:    serial,
		NotBefore:       now,
		NotAfter:        now.Add(s.opts.CertLifetime),
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtKeyUsage:     []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		URIs:            sanURI,
		ExtraExtensions: exts,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, s.caCert, pub, s.caKey)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.issued = append(s.issued, cert)
	s.mu.Unlock()
	return cert, nil
}

// rekorError answers as Rekor does: {"code":N,"message":…}.
func rekorError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"code": status, "message": msg})
}

func (s *Server) serveCreateEntry(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 32<<20))
	if err != nil {
		rekorError(w, http.StatusBadRequest, err.Error())
		return
	}
	pe, err := models.UnmarshalProposedEntry(bytes.NewReader(body), runtime.JSONConsumer())
	if err != nil {
		rekorError(w, http.StatusBadRequest, "error processing entry: "+err.Error())
		return
	}
	entry, err := types.CreateVersionedEntry(pe)
	if err != nil {
		rekorError(w, http.StatusBadRequest, "validation failure: "+err.Error())
		return
	}
	leaf, err := types.CanonicalizeEntry(r.Context(), entry)
	if err != nil {
		rekorError(w, http.StatusBadRequest, "validation failure: "+err.Error())
		return
	}
	uuid := hex.EncodeToString(leafHash(leaf))
	s.mu.Lock()
	if _, dup := s.byUUID[uuid]; dup {
		s.mu.Unlock()
		w.Header().Set("Location", "/api/v1/log/entries/"+uuid)
		rekorError(w, http.StatusConflict, "an equivalent entry already exists in the transparency log with UUID "+uuid)
		return
	}
	idx := len(s.leaves)
	s.leaves = append(s.leaves, leaf)
	s.times = append(s.times, s.opts.Now().Unix())
	s.byUUID[uuid] = idx
	anon, err := s.logEntry(r.Context(), idx)
	s.mu.Unlock()
	if err != nil {
		rekorError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("ETag", uuid)
	w.Header().Set("Location", "/api/v1/log/entries/"+uuid)
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]*models.LogEntryAnon{uuid: anon})
}

func (s *Server) serveGetEntry(w http.ResponseWriter, r *http.Request) {
	uuid := r.PathValue("uuid")
	s.mu.Lock()
	idx, ok := s.byUUID[uuid]
	var anon *models.LogEntryAnon
	var err error
	if ok {
		anon, err = s.logEntry(r.Context(), idx)
	}
	s.mu.Unlock()
	if !ok {
		rekorError(w, http.StatusNotFound, "entry not found")
		return
	}
	if err != nil {
		rekorError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]*models.LogEntryAnon{uuid: anon})
}

// logEntry is entry idx with its signed entry timestamp and an inclusion
// proof against a checkpoint of the current tree. s.mu is held.
func (s *Server) logEntry(ctx context.Context, idx int) (*models.LogEntryAnon, error) {
	body := base64.StdEncoding.EncodeToString(s.leaves[idx])
	logID := hex.EncodeToString(s.logID)
	index := int64(idx)
	integrated := s.times[idx]
	// The SET signs the canonical JSON of {body, integratedTime, logID,
	// logIndex} (rekor pkg/api/entries.go; verified by sigstore-go tlog.VerifySET).
	payload, err := json.Marshal(map[string]any{"body": body, "integratedTime": integrated, "logID": logID, "logIndex": index})
	if err != nil {
		return nil, err
	}
	digest := sha256.Sum256(payload) // keys are already in canonical order, values plain
	set, err := ecdsa.SignASN1(rand.Reader, s.logKey, digest[:])
	if err != nil {
		return nil, err
	}
	hashes := make([][]byte, len(s.leaves))
	for i, l := range s.leaves {
		hashes[i] = leafHash(l)
	}
	rootHash := mth(hashes)
	size := int64(len(hashes))
	var proof []string
	for _, h := range inclusionPath(idx, hashes) {
		proof = append(proof, hex.EncodeToString(h))
	}
	cp, err := rekorutil.CreateAndSignCheckpoint(ctx, "rekor.sigstore.emulator", s.treeID, uint64(size), rootHash, s.logSigner)
	if err != nil {
		return nil, err
	}
	rh := hex.EncodeToString(rootHash)
	cps := string(cp)
	return &models.LogEntryAnon{
		Body:           body,
		IntegratedTime: &integrated,
		LogID:          &logID,
		LogIndex:       &index,
		Verification: &models.LogEntryAnonVerification{
			SignedEntryTimestamp: set,
			InclusionProof: &models.InclusionProof{
				Checkpoint: &cps,
				Hashes:     proof,
				LogIndex:   &index,
				RootHash:   &rh,
				TreeSize:   &size,
			},
		},
	}, nil
}
