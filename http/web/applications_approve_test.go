package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/domain"
)

// Two admins approve the same application at the same moment, with different names: one approval wins and
// makes its project; the other is told the application was already approved, and makes none.
func TestTwoAdminsApprovingAtOnceMakeOneProject(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	org, err := e.cmds.CreateOrg.Handle(context.Background(), identity.CreateOrg{Actor: commands.CLIActor, Name: "MediciaAIOrg2"})
	e.must(org.Result, err)
	id, _ := e.newApplication(e.user("ada"), "Twin Study", true)
	admins := []*browser{e.browser(), e.browser()}
	for i, b := range admins {
		b.loginAs(e.user([]string{"root", "grace"}[i], domain.CoreDeveloper))
		b.get("/staff/applications/" + id + "/approve").expect(http.StatusOK)
	}

	pages := make([]*page, len(admins))
	var wg sync.WaitGroup
	for i, b := range admins {
		wg.Go(func() {
			pages[i] = b.post("/staff/applications/"+id+"/approve", url.Values{"name": {[]string{"Twin Study A", "Twin Study B"}[i]}, "org_id": {org.ID}})
		})
	}
	wg.Wait()

	approved := 0
	for _, p := range pages {
		switch {
		case p.status == http.StatusOK && strings.Contains(p.body, "Application approved; project Twin Study"):
			approved++
		case p.status == http.StatusUnprocessableEntity && strings.Contains(p.body, "already approved"):
		default:
			t.Errorf("an approval answered %d at %s\n%s", p.status, p.url, excerpt(p.body))
		}
	}
	projects, err := e.queries.ProjectsOfOrg(context.Background(), org.ID)
	if err != nil {
		t.Fatal(err)
	}
	if approved != 1 || len(projects) != 1 {
		t.Errorf("%d approvals succeeded and the organisation has %d projects; want one of each", approved, len(projects))
	}
}
