package projectyaml

import (
	"slices"
	"strings"
	"testing"
)

// The sample project: generate_dataset and generate_measures read the database; describe_cohort and
// model_prescribing need generate_dataset; report needs describe_cohort, model_prescribing and generate_measures.

func TestPlanFollowsJobRunnersRules(t *testing.T) {
	t.Parallel()
	proj := mustParse(t, "testdata/project.yaml")
	done := func(id string) PreviousJob { return PreviousJob{JobID: id, Status: JobSucceeded} }
	tests := []struct {
		name    string
		req     Request
		history History
		want    string // Plan.String()
		nothing string // Plan.NothingToDo()
	}{
		{
			name: "a first run runs the dependencies it has never run, in dependency order",
			req:  Request{Actions: []string{"describe_cohort"}},
			want: "generate_dataset will run (it has not run in this workspace); describe_cohort will run (requested)",
		},
		{
			name:    "a succeeded dependency is reused",
			req:     Request{Actions: []string{"describe_cohort"}},
			history: History{"generate_dataset": done("ds1")},
			want:    "generate_dataset reused from job ds1; describe_cohort will run (requested)",
		},
		{
			name:    "a requested action always runs again",
			req:     Request{Actions: []string{"generate_dataset"}},
			history: History{"generate_dataset": done("ds1")},
			want:    "generate_dataset will run (requested)",
		},
		{
			name:    "a failed dependency runs again",
			req:     Request{Actions: []string{"describe_cohort"}},
			history: History{"generate_dataset": {JobID: "ds1", Status: JobFailed}, "describe_cohort": done("dc1")},
			want:    "generate_dataset will run (its last run failed); describe_cohort will run (requested)",
		},
		{
			name:    "force_run_dependencies runs succeeded dependencies again",
			req:     Request{Actions: []string{"describe_cohort"}, ForceRunDependencies: true},
			history: History{"generate_dataset": done("ds1")},
			want:    "generate_dataset will run (dependencies are forced to run); describe_cohort will run (requested)",
		},
		{
			name:    "a pending or running dependency is waited for, even when forced",
			req:     Request{Actions: []string{"describe_cohort"}, ForceRunDependencies: true},
			history: History{"generate_dataset": {JobID: "ds2", Status: JobRunning}},
			want:    "generate_dataset is already scheduled as job ds2; describe_cohort will run (requested)",
		},
		{
			name:    "a requested action already pending is not run twice",
			req:     Request{Actions: []string{"generate_dataset"}},
			history: History{"generate_dataset": {JobID: "ds2", Status: JobPending}},
			want:    "generate_dataset is already scheduled as job ds2",
			nothing: "All requested actions were already scheduled to run",
		},
		{
			name: "a shared dependency gets one job",
			req:  Request{Actions: []string{"report"}},
			history: History{
				"generate_dataset": done("ds1"), "generate_measures": done("gm1"),
				"describe_cohort": done("dc1"), "model_prescribing": {JobID: "mp1", Status: JobFailed},
			},
			want: "describe_cohort reused from job dc1; generate_dataset reused from job ds1; model_prescribing will run (its last run failed); generate_measures reused from job gm1; report will run (requested)",
		},
		{
			name: "run_all on a new workspace runs everything in dependency order",
			req:  Request{Actions: []string{RunAllName}},
			want: "generate_dataset will run (it has not run in this workspace); generate_measures will run (it has not run in this workspace); " +
				"describe_cohort will run (it has not run in this workspace); model_prescribing will run (it has not run in this workspace); " +
				"report will run (it has not run in this workspace)",
		},
		{
			name: "run_all names no action, so succeeded actions are reused",
			req:  Request{Actions: []string{RunAllName}},
			history: History{
				"generate_dataset": done("ds1"), "generate_measures": done("gm1"),
				"describe_cohort": done("dc1"), "model_prescribing": done("mp1"), "report": {JobID: "r1", Status: JobFailed},
			},
			want: "generate_dataset reused from job ds1; generate_measures reused from job gm1; describe_cohort reused from job dc1; " +
				"model_prescribing reused from job mp1; report will run (its last run failed)",
		},
		{
			name: "run_all with everything done has nothing to do",
			req:  Request{Actions: []string{RunAllName}},
			history: History{
				"generate_dataset": done("ds1"), "generate_measures": done("gm1"),
				"describe_cohort": done("dc1"), "model_prescribing": done("mp1"), "report": done("r1"),
			},
			want: "generate_dataset reused from job ds1; generate_measures reused from job gm1; describe_cohort reused from job dc1; " +
				"model_prescribing reused from job mp1; report reused from job r1",
			nothing: "All actions have already completed successfully",
		},
		{
			name:    "run_all with force_run_dependencies runs everything again",
			req:     Request{Actions: []string{RunAllName}, ForceRunDependencies: true},
			history: History{"generate_dataset": done("ds1"), "generate_measures": done("gm1"), "describe_cohort": done("dc1"), "model_prescribing": done("mp1"), "report": done("r1")},
			want: "generate_dataset will run (dependencies are forced to run); generate_measures will run (dependencies are forced to run); " +
				"describe_cohort will run (dependencies are forced to run); model_prescribing will run (dependencies are forced to run); " +
				"report will run (dependencies are forced to run)",
		},
		{
			name:    "run_all beside a named action runs that action again",
			req:     Request{Actions: []string{RunAllName, "generate_measures"}},
			history: History{"generate_dataset": done("ds1"), "generate_measures": done("gm1"), "describe_cohort": done("dc1"), "model_prescribing": done("mp1"), "report": done("r1")},
			want: "generate_dataset reused from job ds1; generate_measures will run (requested); describe_cohort reused from job dc1; " +
				"model_prescribing reused from job mp1; report reused from job r1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pl, err := proj.Plan(tt.req, tt.history)
			if err != nil {
				t.Fatal(err)
			}
			if got := pl.String(); got != tt.want {
				t.Errorf("plan =\n  %s\nwant\n  %s", got, tt.want)
			}
			if got := pl.NothingToDo(); got != tt.nothing {
				t.Errorf("NothingToDo = %q, want %q", got, tt.nothing)
			}
		})
	}
}

func TestNewJobsWaitForUnfinishedDependencies(t *testing.T) {
	t.Parallel()
	proj := mustParse(t, "testdata/project.yaml")
	pl, err := proj.Plan(Request{Actions: []string{"report"}}, History{
		"generate_dataset":  {JobID: "ds1", Status: JobSucceeded},
		"generate_measures": {JobID: "gm2", Status: JobRunning},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := pl.ToRun(); !slices.Equal(got, []string{"describe_cohort", "model_prescribing", "report"}) {
		t.Errorf("to run = %v", got)
	}
	last := pl.Steps[len(pl.Steps)-1]
	want := []WaitFor{{Action: "describe_cohort"}, {Action: "model_prescribing"}, {Action: "generate_measures", JobID: "gm2"}}
	if last.Action != "report" || !slices.Equal(last.WaitsFor, want) {
		t.Errorf("report waits for %+v, want %+v", last.WaitsFor, want)
	}
	if first := pl.Steps[0]; first.Action != "generate_dataset" || first.Decision != Reuse || len(first.WaitsFor) != 0 {
		t.Errorf("first step = %+v", first)
	}
}

func TestPlanRefusesWhatItCannotPlan(t *testing.T) {
	t.Parallel()
	proj := mustParse(t, "testdata/project.yaml")
	tests := []struct {
		name    string
		req     Request
		history History
		words   string
	}{
		{"nothing requested", Request{}, nil, "select at least one"},
		{"an unknown action", Request{Actions: []string{"analyse"}}, nil, "action 'analyse' not found in project.yaml"},
		{"an unknown status", Request{Actions: []string{"report"}}, History{"report": {JobID: "r", Status: "cancelled"}}, `status "cancelled"`},
	}
	for _, tt := range tests {
		_, err := proj.Plan(tt.req, tt.history)
		if err == nil || !strings.Contains(err.Error(), tt.words) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.words)
		}
	}
}
