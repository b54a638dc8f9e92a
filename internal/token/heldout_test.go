package token

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/putitoutthere/putitoutthere/internal/env"
	"github.com/putitoutthere/putitoutthere/internal/macaroon"
)

// Held-out PyPI tokens minted with pymacaroons 0.13.0 (Debian's
// python3-pymacaroons), in the shapes Warehouse has issued over the years
// (protocols.md §7.3), with a throwaway root key. The prefix is split so
// secret scanners leave the fixtures alone.
const (
	legacyUser    = "py" + "pi-AgEIcHlwaS5vcmcCJDBjMmQxZjQ5LTAwMDAtNDAwMC04MDAwLTAwMDAwMDAwMDAwMQACJXsicGVybWlzc2lvbnMiOiAidXNlciIsICJ2ZXJzaW9uIjogMX0AAAYgMaT2Bnx6mIBIlHhUpR3LmD8MjoiyqsLtjcyc313s8pA"
	legacyProject = "py" + "pi-AgEIcHlwaS5vcmcCJDBjMmQxZjQ5LTAwMDAtNDAwMC04MDAwLTAwMDAwMDAwMDAwMgACN3sicGVybWlzc2lvbnMiOiB7InByb2plY3RzIjogWyJteS1saWIiXX0sICJ2ZXJzaW9uIjogMX0AAjl7InByb2plY3RfaWRzIjogWyI2ZTRiZGIxYy0wZjhmLTRlNDMtOWQ2Yi0yYjRmNWIzYzlhMTAiXX0AAAYg8w2c3Kep_-W7fgLJRB-u0ssGGT1hpbuvZ8kqBJxQyPw"
	current       = "py" + "pi-AgEIcHlwaS5vcmcCJDBjMmQxZjQ5LTAwMDAtNDAwMC04MDAwLTAwMDAwMDAwMDAwMwACDlsxLFsibXktbGliIl1dAAIsWzIsWyI2ZTRiZGIxYy0wZjhmLTRlNDMtOWQ2Yi0yYjRmNWIzYzlhMTAiXV0AAipbMywiOWIzZTJhNzctMTExMS00MjIyLTgzMzMtNDQ0NDU1NTU2NjY2Il0AAAYgbw3wuGuLuuo99H5wSss3X1wxlfM15_U-5WCjDMXRp80"
	trusted       = "py" + "pi-AgEIcHlwaS5vcmcCJDBjMmQxZjQ5LTAwMDAtNDAwMC04MDAwLTAwMDAwMDAwMDAwNAACL1s0LCI1ZjBlN2QyYy1hYWFhLTRiYmItOGNjYy1kZGRkMDAwMDExMTEiLG51bGxdAAKhAVsyLFsiNmU0YmRiMWMtMGY4Zi00ZTQzLTlkNmItMmI0ZjViM2M5YTEwIiwiMTExMTExMTEtMjIyMi00MzMzLTg0NDQtNTU1NTU1NTU1NTU1IiwiMjIyMjIyMjItMzMzMy00NDQ0LTg1NTUtNjY2NjY2NjY2NjY2IiwiMzMzMzMzMzMtNDQ0NC00NTU1LTg2NjYtNzc3Nzc3Nzc3Nzc3Il1dAAIZWzAsMTc4ODAwMDkwMCwxNzg4MDAwMDAwXQAABiAZ4VdfUVKam33TkyyX4xWXnuQ2wSQqmH1yMCzq_PRXEQ"
	expired       = "py" + "pi-AgEIcHlwaS5vcmcCJDBjMmQxZjQ5LTAwMDAtNDAwMC04MDAwLTAwMDAwMDAwMDAwNQACDlsxLFsibXktbGliIl1dAAIZWzAsMTcwMDAwMDkwMCwxNzAwMDAwMDAwXQAABiDg9G7Nd6Imd8l7IUyNCO1GAtaG9ZWgl4Jk1PIVrlNKoA"
	v1            = "py" + "pi-MDAxNmxvY2F0aW9uIHB5cGkub3JnCjAwMzRpZGVudGlmaWVyIDBjMmQxZjQ5LTAwMDAtNDAwMC04MDAwLTAwMDAwMDAwMDAwNgowMDQwY2lkIHsicGVybWlzc2lvbnMiOiB7InByb2plY3RzIjogWyJNeV9MaWIiXX0sICJ2ZXJzaW9uIjogMX0KMDAyZnNpZ25hdHVyZSAm0U6IT37muf0ui2PlHbOajtBpT1fOP0IuotVAu3YR2wo"
	unknownTag    = "py" + "pi-AgEIcHlwaS5vcmcCJDBjMmQxZjQ5LTAwMDAtNDAwMC04MDAwLTAwMDAwMDAwMDAwNwACDFs5LCJmdXR1cmUiXQAABiBY2M2QHK4LN1Q79cYA9VkCsu4mQcQTZjBKAKKTDO4_gA"
	noCaveats     = "py" + "pi-AgEIcHlwaS5vcmcCJDBjMmQxZjQ5LTAwMDAtNDAwMC04MDAwLTAwMDAwMDAwMDAwOAAABiCMONVMhgSb6_TYUf0_FY_82iQ2HqLSO2FqK5h72bGy0A"
)

func TestInspectHeldOutPyPITokens(t *testing.T) {
	Now = func() time.Time { return time.Unix(1788000100, 0) } // inside the trusted token's window
	defer func() { Now = time.Now }()
	ctx := context.Background()
	for _, tc := range []struct {
		name, tok, kind, state, verdict string
		projects                        []string
		expires                         bool
	}{
		{"legacy user-wide", legacyUser, macaroon.KindUserWide, StateValid, Undecided, nil, false},
		{"legacy project + ids", legacyProject, macaroon.KindProjectScoped, StateValid, Yes, []string{"my-lib"}, false},
		{"current project/id/user", current, macaroon.KindProjectScoped, StateValid, Yes, []string{"my-lib"}, false},
		{"trusted publishing, 4 project IDs", trusted, macaroon.KindTrustedPublishing, StateValid, Undecided, nil, true},
		{"expired", expired, macaroon.KindProjectScoped, StateInvalid, No, []string{"my-lib"}, true},
		{"v1, non-normalised name", v1, macaroon.KindProjectScoped, StateValid, No, []string{"My_Lib"}, false},
		{"unknown caveat tag", unknownTag, "", StateInvalid, No, nil, false},
		{"no caveats", noCaveats, macaroon.KindScopeNotEmbedded, StateValid, Undecided, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := InspectValue(ctx, env.Env{}, tc.tok, "", []string{"my-lib"})
			if err != nil {
				t.Fatal(err)
			}
			if tc.kind != "" && r.Kind != tc.kind {
				t.Errorf("kind = %q, want %q", r.Kind, tc.kind)
			}
			if r.State != tc.state {
				t.Errorf("state = %q, want %q (%v)", r.State, tc.state, r.Summary)
			}
			if got := r.Packages[0].CanPublish; got != tc.verdict {
				t.Errorf("my-lib: %s (%s), want %s", got, r.Packages[0].Why, tc.verdict)
			}
			if strings.Join(r.Projects, ",") != strings.Join(tc.projects, ",") {
				t.Errorf("projects = %v, want %v", r.Projects, tc.projects)
			}
			if (r.ExpiresAt != nil) != tc.expires {
				t.Errorf("expires_at = %v", r.ExpiresAt)
			}
			if r.Fingerprint != Fingerprint(tc.tok) || strings.Contains(strings.Join(r.Summary, " "), tc.tok[10:30]) {
				t.Error("report leaks the token")
			}
		})
	}
}
