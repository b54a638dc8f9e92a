package publish

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/putitoutthere/putitoutthere/internal/auth"
	"github.com/putitoutthere/putitoutthere/internal/plan"
)

// DriftStagedAwaiting: a version this repository staged (npm staged
// publishing) is not live yet: it awaits a maintainer's approval (or was
// rejected). The next publish after the approval makes its tag and release.
const DriftStagedAwaiting = "staged-awaiting-approval"

// stageLister reads every stage record (GitCLI).
type stageLister interface {
	StageRecords(ctx context.Context, dir, remote string) (map[string][]StagedUpload, error)
}

// stagedDrift adds DriftStagedAwaiting to the packages whose recorded stage
// is not live. The records are read from origin (or the local repository
// without one); no registry credentials are needed.
func stagedDrift(ctx context.Context, o StatusOptions, out []PackageStatus) {
	sl, ok := o.Git.(stageLister)
	if !ok || o.Git == nil {
		return
	}
	remote := ""
	if has, err := o.Git.HasRemote(ctx, o.Root, "origin"); err == nil && has {
		remote = "origin"
	}
	recs, err := sl.StageRecords(ctx, o.Root, remote)
	if err != nil || len(recs) == 0 {
		return
	}
	tags := make([]string, 0, len(recs))
	for t := range recs {
		tags = append(tags, t)
	}
	sort.Strings(tags)
	for i := range out {
		pkg := o.Config.Package(out[i].Name)
		h := o.Handlers[out[i].Kind]
		if pkg == nil || h == nil {
			continue
		}
		for _, tag := range tags {
			ups := recs[tag]
			if len(ups) == 0 || ups[len(ups)-1].Name != pkg.RegistryName() {
				continue // the top-level package is staged last
			}
			top := ups[len(ups)-1]
			j := Job{Package: pkg, Release: plan.Release{Name: pkg.Name, Kind: pkg.Kind, Version: top.Version, Tag: tag}, Root: o.Root, Env: o.Env, Auth: auth.Resolution{Kind: pkg.Kind, Method: auth.MethodMissing}}
			live, err := h.Published(ctx, j)
			if err != nil || live {
				continue
			}
			var ids []string
			for _, u := range ups {
				if u.ID != "" {
					ids = append(ids, u.ID)
				}
			}
			idText := ""
			if len(ids) > 0 {
				idText = " (stage " + strings.Join(ids, ", ") + ")"
			}
			if !contains(out[i].Drift, DriftStagedAwaiting) {
				out[i].Drift = append(out[i].Drift, DriftStagedAwaiting)
			}
			out[i].Detail = append(out[i].Detail, fmt.Sprintf("%s %s is staged on %s%s and awaits a maintainer's approval (npm stage approve <stage-id>); once it is live, publish creates tag %s and its GitHub Release", top.Name, top.Version, h.Registry(), idText, tag))
		}
	}
}
