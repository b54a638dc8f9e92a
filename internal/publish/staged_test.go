package publish

import (
	"reflect"
	"testing"

	"github.com/putitoutthere/putitoutthere/internal/config"
)

// The stage record round-trips, and an interrupted family's record is
// marked incomplete so a re-run stages the rest and keeps the ids it had.
func TestStageRecord(t *testing.T) {
	ups := []StagedUpload{{Name: "t-linux", Version: "1.0.0", ID: "11111111-2222-4333-8444-555555555555"}, {Name: "t", Version: "1.0.0"}}
	got, complete := parseStageRecord(stageNote(ups, false, "abc123"))
	if !complete || !reflect.DeepEqual(got, ups) || stageCommit(stageNote(ups, false, "abc123")) != "abc123" {
		t.Fatalf("round trip = %+v %v", got, complete)
	}
	got, complete = parseStageRecord(stageNote(ups[:1], true, ""))
	if complete || len(got) != 1 {
		t.Fatalf("incomplete record = %+v %v", got, complete)
	}
	r := &flow{stage: &stageState{partial: map[string][]StagedUpload{"t": got}}}
	j := Job{Package: &config.Package{Name: "t"}}
	merged := r.mergePartial(j, []StagedUpload{{Name: "t-linux", Version: "1.0.0"}, {Name: "t", Version: "1.0.0", ID: "x"}})
	if merged[0].ID != ups[0].ID || merged[1].ID != "x" {
		t.Fatalf("merged = %+v", merged)
	}
}
