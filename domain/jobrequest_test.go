package domain_test

import (
	"os"
	"regexp"
	"slices"
	"testing"

	"github.com/mediciasafely/jobserver/domain"
)

const commitSHA = "0123456789abcdef0123456789abcdef01234567"

// demoProject is the example project.yaml: generate_dataset, generate_measures, describe_cohort and
// model_prescribing (both needing generate_dataset) and report (needing the three).
func demoProject(t *testing.T) string {
	t.Helper()
	text, err := os.ReadFile("projectyaml/testdata/project.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return string(text)
}

var demoActions = []string{"generate_dataset", "generate_measures", "describe_cohort", "model_prescribing", "report", "run_all"}

func form(t *testing.T, change func(*domain.JobRequestForm)) domain.JobRequestForm {
	f := domain.JobRequestForm{
		JobRequestID: domain.NewJobRequestID(), BackendID: "b1", SHA: commitSHA, Actions: []string{"report"},
		ProjectDefinition: demoProject(t), CodelistsOK: true,
	}
	if change != nil {
		change(&f)
	}
	return f
}

func TestRequestJobsChecksEveryField(t *testing.T) {
	t.Parallel()
	w := newWorkspace(t)
	cases := []struct {
		name      string
		change    func(*domain.JobRequestForm)
		onBackend bool
		field     string
		message   string
	}{
		{"no actions", func(f *domain.JobRequestForm) { f.Actions = nil }, true, "actions", "at least one"},
		{"an unknown action", func(f *domain.JobRequestForm) { f.Actions = []string{"report", "nope"} }, true, "actions", "no action “nope”"},
		{"no backend", func(f *domain.JobRequestForm) { f.BackendID = "" }, true, "backend", "choose a backend"},
		{"a backend the actor is not on", nil, false, "backend", "not a member"},
		{"no commit", func(f *domain.JobRequestForm) { f.SHA = "" }, true, "sha", "missing"},
		{"a branch for a commit", func(f *domain.JobRequestForm) { f.SHA = "main" }, true, "sha", "full sha"},
		{"a short sha", func(f *domain.JobRequestForm) { f.SHA = commitSHA[:7] }, true, "sha", "full sha"},
		{"an upper-case sha", func(f *domain.JobRequestForm) { f.SHA = "0123456789ABCDEF0123456789ABCDEF01234567" }, true, "sha", "full sha"},
		{"no id", func(f *domain.JobRequestForm) { f.JobRequestID = "" }, true, "job_request_id", "identifier"},
	}
	for _, c := range cases {
		_, err := w.RequestJobs(developer, form(t, c.change), demoActions, c.onBackend)
		if got := fieldOf(err, c.field); got == "" || !regexp.MustCompile(regexp.QuoteMeta(c.message)).MatchString(got) {
			t.Errorf("%s: err = %v, want %q on %s", c.name, err, c.message, c.field)
		}
	}
}

func TestRequestJobsRecordsWhatTheRunnerNeeds(t *testing.T) {
	t.Parallel()
	w := newWorkspace(t)
	f := form(t, func(f *domain.JobRequestForm) {
		f.Actions = []string{"run_all"}
		f.ForceRunDependencies, f.WillNotify = true, true
	})
	got, err := w.RequestJobs(developer, f, demoActions, true)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[a-z2-7]{16}$`).MatchString(got.JobRequestID) || got.WorkspaceID != "w1" || got.ProjectID != "p1" ||
		got.BackendID != "b1" || got.SHA != commitSHA || !slices.Equal(got.RequestedActions, []string{"run_all"}) ||
		!got.ForceRunDependencies || !got.WillNotify || got.ProjectDefinition != f.ProjectDefinition || got.RequestedBy != "dev" ||
		got.DatabaseName != "default" || !got.CodelistsOK {
		t.Fatalf("JobRequested %+v", got)
	}
	f.Actions[0] = "report"
	if got.RequestedActions[0] != "run_all" {
		t.Fatal("the event shares the form's actions")
	}
	ids := map[string]bool{}
	for range 100 {
		ids[domain.NewJobRequestID()] = true
	}
	if len(ids) != 100 {
		t.Fatal("job request ids repeat")
	}
}

func TestMayRunJobs(t *testing.T) {
	t.Parallel()
	w := newWorkspace(t)
	if err := w.MayRunJobs(developer); err != nil {
		t.Fatal(err)
	}
	// The command line may do everything, but jobs are requested by a person, whom the runner records.
	wantRefusal(t, w.MayRunJobs(operator), "by a person")
	for _, by := range []domain.Actor{collaborator, coordinator, {UserID: "x", Can: domain.PermissionSet{}}} {
		wantRefusal(t, w.MayRunJobs(by), "run jobs")
		_, err := w.RequestJobs(by, form(t, nil), demoActions, true)
		wantRefusal(t, err, "run jobs")
	}
	archived := newWorkspace(t, domain.WorkspaceArchived{WorkspaceID: "w1"})
	wantRefusal(t, archived.MayRunJobs(developer), "archived")
	_, err := archived.RequestJobs(developer, form(t, nil), demoActions, true)
	wantRefusal(t, err, "archived")
	if domain.KindOf((&domain.Workspace{}).MayRunJobs(developer)) != domain.KindNotFound {
		t.Fatal("a missing workspace is not NotFound")
	}
}

func requested(t *testing.T, actions ...string) *domain.JobRequest {
	t.Helper()
	e, err := newWorkspace(t).RequestJobs(developer, form(t, func(f *domain.JobRequestForm) { f.Actions = actions }), demoActions, true)
	if err != nil {
		t.Fatal(err)
	}
	return fold(&domain.JobRequest{}, e)
}

func TestCancellingJobs(t *testing.T) {
	t.Parallel()
	other := domain.Actor{UserID: "other-dev", Can: developer.Can}
	requester := domain.Actor{UserID: "dev", Can: collaborator.Can} // no job_cancel: their own request is theirs
	cases := []struct {
		name      string
		requested []string
		by        domain.Actor
		action    string
		want      []string // cancelled actions; nil with refused for a refusal
		refused   bool
		notFound  bool
	}{
		{"the requester cancels the request", []string{"report"}, requester, "", []string{"generate_dataset", "generate_measures", "describe_cohort", "model_prescribing", "report"}, false, false},
		{"the requester cancels one job", []string{"report"}, requester, "generate_dataset", []string{"generate_dataset"}, false, false},
		{"another developer cancels", []string{"describe_cohort"}, other, "", []string{"generate_dataset", "describe_cohort"}, false, false},
		{"run_all names every action", []string{"run_all"}, other, "", []string{"generate_dataset", "generate_measures", "describe_cohort", "model_prescribing", "report"}, false, false},
		{"a collaborator may not", []string{"report"}, collaborator, "", nil, true, false},
		{"a coordinator may not", []string{"report"}, coordinator, "report", nil, true, false},
		{"the operator may", []string{"generate_measures"}, operator, "", []string{"generate_measures"}, false, false},
		{"an action the request does not run", []string{"describe_cohort"}, requester, "report", nil, false, true},
	}
	for _, c := range cases {
		j := requested(t, c.requested...)
		events, err := j.Cancel(c.by, c.action)
		switch {
		case c.refused:
			if domain.KindOf(err) != domain.KindForbidden || len(events) != 0 {
				t.Errorf("%s: %v, %v; want a refusal", c.name, events, err)
			}
			continue
		case c.notFound:
			if domain.KindOf(err) != domain.KindNotFound || len(events) != 0 {
				t.Errorf("%s: %v, %v; want NotFound", c.name, events, err)
			}
			continue
		}
		if err != nil || len(events) != 1 {
			t.Errorf("%s: %v, %v", c.name, events, err)
			continue
		}
		e := events[0].(domain.JobActionsCancelled)
		if !slices.Equal(e.Actions, c.want) || e.CancelledBy != c.by.UserID || e.JobRequestID == "" {
			t.Errorf("%s: %+v, want actions %v", c.name, e, c.want)
		}
		// Once cancelled, the same cancellation is no change.
		fold(j, e)
		if again, err := j.Cancel(c.by, c.action); err != nil || len(again) != 0 {
			t.Errorf("%s again: %v, %v", c.name, again, err)
		}
	}
}

func TestCancellingTheRestOfARequestLeavesOutWhatWasCancelled(t *testing.T) {
	t.Parallel()
	j := requested(t, "model_prescribing")
	events, _ := j.Cancel(developer, "model_prescribing")
	c := j.Clone()
	fold(j, events...)
	if len(c.CancelledActions()) != 0 {
		t.Fatal("the clone shares state")
	}
	events, err := j.Cancel(developer, "")
	if err != nil || len(events) != 1 || !slices.Equal(events[0].(domain.JobActionsCancelled).Actions, []string{"generate_dataset"}) {
		t.Fatalf("%v, %v", events, err)
	}
	fold(j, events...)
	if !slices.Equal(j.CancelledActions(), []string{"model_prescribing", "generate_dataset"}) {
		t.Fatalf("cancelled %v", j.CancelledActions())
	}
	if _, err := (&domain.JobRequest{}).Cancel(operator, ""); domain.KindOf(err) != domain.KindNotFound {
		t.Fatalf("no request: %v", err)
	}
}

// TestFinishedJobsAreNotCancelled: cancelling the whole request leaves out the actions whose job finished,
// cancelling a finished job is a conflict, and so is cancelling a request all of whose jobs finished.
func TestFinishedJobsAreNotCancelled(t *testing.T) {
	t.Parallel()
	j := requested(t, "describe_cohort")
	finishedJob := func(action, status string) domain.JobStatusChanged {
		return domain.JobStatusChanged{JobRequestID: "r", JobID: "job-" + action, Action: action, Status: status, Finished: domain.IsTerminalJobStatus(status)}
	}
	fold(j, finishedJob("generate_dataset", domain.JobSucceeded), finishedJob("describe_cohort", domain.JobRunning))

	if _, err := j.Cancel(developer, "generate_dataset"); domain.KindOf(err) != domain.KindConflict {
		t.Errorf("cancelling a finished job: %v, want a conflict", err)
	}
	events, err := j.Cancel(developer, "")
	if err != nil || len(events) != 1 || !slices.Equal(events[0].(domain.JobActionsCancelled).Actions, []string{"describe_cohort"}) {
		t.Fatalf("cancelling the request while one job runs: %v, %v; want describe_cohort alone", events, err)
	}

	fold(j, finishedJob("describe_cohort", domain.JobFailed))
	if _, err := j.Cancel(developer, ""); domain.KindOf(err) != domain.KindConflict {
		t.Errorf("cancelling a finished request: %v, want a conflict", err)
	}
}
