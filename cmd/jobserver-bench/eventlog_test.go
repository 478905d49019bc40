package main

import (
	"math/rand/v2"
	"testing"

	"github.com/mediciasafely/jobserver/domain"
)

func TestPairedRequestsHaveTenJobsOnAverageExactly(t *testing.T) {
	total := 0
	for index := range 2 * requestsPerAppend {
		k := jobCountOf(3, index-index%2)
		if index%2 == 1 {
			k = 2*jobsPerRequestMean - k
		}
		if k < 1 || k > 2*jobsPerRequestMean-1 {
			t.Fatalf("request %d has %d jobs", index, k)
		}
		total += k
	}
	if want := 2 * requestsPerAppend * jobsPerRequestMean; total != want {
		t.Errorf("%d jobs, want %d", total, want)
	}
}

func TestJobStatesGiveEveryStatusOfTheLogsFilter(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	actions := []string{"generate_dataset", "model_cox", "report"}
	seen := map[string]int{}
	for i := range 2000 {
		var statuses []string
		for _, e := range jobStates(rng, "request", actions, float64(i)/1999) {
			statuses = append(statuses, e.(domain.JobStatusChanged).Status)
		}
		seen[domain.JobRequestStatus(statuses)]++
	}
	for _, s := range []string{domain.JobSucceeded, domain.JobFailed, domain.JobRunning, domain.JobPending} {
		if seen[s] == 0 {
			t.Errorf("no request is %s: %v", s, seen)
		}
	}
	if seen[domain.JobSucceeded] < 1600 {
		t.Errorf("most requests should have succeeded: %v", seen)
	}
}

func TestExecutionTimeIsReadFromAPlan(t *testing.T) {
	plan := "Limit  (cost=1.28..66.94 rows=26 width=529)\nPlanning Time: 0.359 ms\nExecution Time: 17.687 ms"
	if got := executionTime(plan); got != 17.687 {
		t.Errorf("execution time %v, want 17.687", got)
	}
	if got := executionTime("no plan"); got != 0 {
		t.Errorf("execution time of no plan %v, want 0", got)
	}
}
