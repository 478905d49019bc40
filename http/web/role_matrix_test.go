package web_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/internal/rolematrix"
)

// matrixWorld is what one use of the role matrix acts on, made afresh for every use: an organisation with
// a project in it (this project), another project, a project in no organisation, a backend, a target
// user who holds a project role, a global Output Checker role and memberships everywhere, and a
// newcomer who is a member of nothing.
type matrixWorld struct {
	org, orgSlug, project, projectURL, loose, backend string
	target, newcomer, newcomerLogin                   string
	n                                                 int
}

// newMatrixWorld builds world n in e and gives actor the setup's project role on it.
func newMatrixWorld(e *env, n int, actor string, who rolematrix.Setup) matrixWorld {
	e.t.Helper()
	ctx, cli := context.Background(), commands.CLIActor
	w := matrixWorld{n: n, newcomerLogin: fmt.Sprintf("newcomer%d", n)}
	w.target = e.user(fmt.Sprintf("target%d", n), domain.OutputChecker)
	w.newcomer = e.user(w.newcomerLogin)
	backend, err := e.cmds.CreateBackend.Handle(ctx, identity.CreateBackend{Actor: cli, Slug: fmt.Sprintf("backend%d", n), Name: fmt.Sprintf("Backend %d", n)})
	e.must(backend.Result, err)
	w.backend = backend.BackendID
	org, err := e.cmds.CreateOrg.Handle(ctx, identity.CreateOrg{Actor: cli, Name: fmt.Sprintf("Org %d", n)})
	e.must(org.Result, err)
	w.org, w.orgSlug = org.ID, org.Slug
	project, err := e.cmds.CreateProject.Handle(ctx, identity.CreateProject{Actor: cli, Name: fmt.Sprintf("Study %d", n), OrgID: w.org})
	e.must(project.Result, err)
	w.project, w.projectURL = project.ID, "/"+org.Slug+"/"+project.Slug
	other, err := e.cmds.CreateProject.Handle(ctx, identity.CreateProject{Actor: cli, Name: fmt.Sprintf("Other Study %d", n), OrgID: w.org})
	e.must(other.Result, err)
	loose, err := e.cmds.CreateProject.Handle(ctx, identity.CreateProject{Actor: cli, Name: fmt.Sprintf("Loose Study %d", n)})
	e.must(loose.Result, err)
	w.loose = loose.ID
	e.must(e.cmds.AddBackendMember.Handle(ctx, identity.AddBackendMember{Actor: cli, BackendID: w.backend, UserID: w.target}))
	e.must(e.cmds.AddOrgMember.Handle(ctx, identity.AddOrgMember{Actor: cli, OrgID: w.org, UserID: w.target}))
	e.must(e.cmds.AddProjectMember.Handle(ctx, identity.AddProjectMember{Actor: cli, ProjectID: w.project, UserID: w.target, Roles: []domain.Role{domain.ProjectDeveloper}}))
	if actor == "" {
		return w
	}
	e.must(e.cmds.AddOrgMember.Handle(ctx, identity.AddOrgMember{Actor: cli, OrgID: w.org, UserID: actor}))
	switch {
	case who.Project != "":
		e.must(e.cmds.AddProjectMember.Handle(ctx, identity.AddProjectMember{Actor: cli, ProjectID: w.project, UserID: actor, Roles: []domain.Role{who.Project}}))
	case who.Other != "":
		e.must(e.cmds.AddProjectMember.Handle(ctx, identity.AddProjectMember{Actor: cli, ProjectID: other.ID, UserID: actor, Roles: []domain.Role{who.Other}}))
	}
	return w
}

// httpRunners do each use of the identity slice the way the pages do it: the form a person submits,
// through the confirm page's own form where there is one. Changing someone else's notification address
// has no page at all, so it has no runner here and is checked to stay that way.
func httpRunners() map[string]func(b *browser, w matrixWorld) *page {
	return map[string]func(b *browser, w matrixWorld) *page{
		"ChangeNotificationEmail of their own address": func(b *browser, w matrixWorld) *page {
			return b.post("/settings", url.Values{"email": {fmt.Sprintf("me%d@work.example.org", w.n)}})
		},
		"SetGlobalRoles": func(b *browser, w matrixWorld) *page {
			return b.post("/staff/users/"+w.target+"/roles", url.Values{"roles": {string(domain.TechnicalReviewer)}})
		},
		"GrantGlobalRole": func(b *browser, w matrixWorld) *page {
			return b.post("/staff/users/"+w.newcomer, url.Values{"roles": {string(domain.OutputChecker)}})
		},
		"RevokeGlobalRole": func(b *browser, w matrixWorld) *page {
			return b.post("/staff/users/"+w.target+"/roles", url.Values{})
		},
		"ForgetUser": func(b *browser, w matrixWorld) *page {
			return b.post("/staff/users/"+w.newcomer+"/forget", nil)
		},
		"CreateBackend": func(b *browser, w matrixWorld) *page {
			return b.post("/staff/backends", url.Values{"slug": {fmt.Sprintf("tpp%d", w.n)}, "name": {fmt.Sprintf("TPP %d", w.n)}})
		},
		"RotateRunnerToken": func(b *browser, w matrixWorld) *page {
			return b.post("/staff/backends/"+w.backend+"/rotate-token", nil)
		},
		"AddBackendMember": func(b *browser, w matrixWorld) *page {
			return b.post("/staff/backends/"+w.backend, url.Values{"login": {w.newcomerLogin}})
		},
		"RemoveBackendMember": func(b *browser, w matrixWorld) *page {
			return b.post("/staff/backends/"+w.backend+"/members/"+w.target+"/remove", nil)
		},
		"CreateOrg": func(b *browser, w matrixWorld) *page {
			return b.post("/staff/orgs", url.Values{"name": {fmt.Sprintf("Another Org %d", w.n)}})
		},
		"AddOrgMember": func(b *browser, w matrixWorld) *page {
			return b.post("/staff/orgs/"+w.org, url.Values{"login": {w.newcomerLogin}})
		},
		"RemoveOrgMember": func(b *browser, w matrixWorld) *page {
			return b.post("/staff/orgs/"+w.org+"/members/"+w.target+"/remove", nil)
		},
		"CreateProject": func(b *browser, w matrixWorld) *page {
			return b.post("/staff/projects", url.Values{"name": {fmt.Sprintf("New Study %d", w.n)}, "org_id": {w.org}})
		},
		"AddProjectToOrg": func(b *browser, w matrixWorld) *page {
			return b.post("/staff/projects/"+w.loose+"/org", url.Values{"org_id": {w.org}})
		},
		"AddProjectMember": func(b *browser, w matrixWorld) *page {
			return b.post(w.projectURL+"/settings", url.Values{"form": {"add-member"}, "login": {w.newcomerLogin}, "roles": {string(domain.ProjectCollaborator)}})
		},
		"ChangeProjectMemberRoles": func(b *browser, w matrixWorld) *page {
			return b.post(w.projectURL+"/settings/members/"+w.target, url.Values{"roles": {string(domain.ProjectCollaborator)}})
		},
		"RemoveProjectMember": func(b *browser, w matrixWorld) *page {
			return b.post(w.projectURL+"/settings/members/"+w.target+"/remove", nil)
		},
		"RenameProject": func(b *browser, w matrixWorld) *page {
			return b.post(w.projectURL+"/settings", url.Values{"form": {"rename"}, "name": {fmt.Sprintf("Our Study %d", w.n)}})
		},
	}
}

// withoutAPage are the uses that no page offers, so nobody can do them over HTTP.
var withoutAPage = map[string]bool{"ChangeNotificationEmail of someone else": true}

// TestRoleMatrixThroughThePages drives the identity slice of the role matrix's table through HTTP (see
// checkPagesMatrix).
func TestRoleMatrixThroughThePages(t *testing.T) {
	t.Parallel()
	run := httpRunners()
	checkPagesMatrix(t, rolematrix.Identity, withoutAPage, nil, func(e *env, n int, actor string, who rolematrix.Setup, u rolematrix.Use) func(*browser) *page {
		w := newMatrixWorld(e, n, actor, who)
		return func(b *browser) *page { return run[u.Name](b, w) }
	})
}

// checkPagesMatrix drives a slice of the role matrix's table (internal/rolematrix) through HTTP: every use
// (but those in without, which no page offers), as every kind of signed-in actor and an anonymous
// visitor, each setup in an env of its own where setUp (when set) readies the actor. For each use, world
// builds its world afresh and returns what the page's form does there. Who may, gets the page the form
// leads to and the events it caused; who may not, gets 403 (or 404 for a page they may not know of) and
// nothing appended; an anonymous visitor is sent to log in. The command line has no pages.
func checkPagesMatrix(t *testing.T, slice string, without map[string]bool, setUp func(e *env, actor string),
	world func(e *env, n int, actor string, who rolematrix.Setup, u rolematrix.Use) func(*browser) *page) {
	t.Helper()
	for _, who := range rolematrix.Setups() {
		if who.CLI {
			continue
		}
		t.Run(who.String(), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			var actor string
			if !who.Anonymous {
				var roles []domain.Role
				if who.Global != "" {
					roles = append(roles, who.Global)
				}
				actor = e.user("actor", roles...)
				if setUp != nil {
					setUp(e, actor)
				}
			}
			for n, u := range rolematrix.UsesOf(slice) {
				if without[u.Name] {
					continue
				}
				do := world(e, n, actor, who, u)
				b := e.browser()
				if actor != "" {
					b.loginAs(actor)
				}
				before := countEvents(t, e)
				p := do(b)
				appended := countEvents(t, e) - before
				switch {
				case who.Anonymous:
					if p.url.Path != "/login" || appended != 0 {
						t.Errorf("%s: an anonymous visitor ended at %s (%d) with %d events appended; want the login page and none", u.Name, p.url, p.status, appended)
					}
				case u.Allows(who.Key):
					if p.status != http.StatusOK || appended == 0 {
						t.Errorf("%s: allowed, but %d at %s with %d events appended\n%s", u.Name, p.status, p.url, appended, excerpt(p.body))
					}
				default:
					if (p.status != http.StatusForbidden && p.status != http.StatusNotFound) || appended != 0 {
						t.Errorf("%s: refused, but %d at %s with %d events appended\n%s", u.Name, p.status, p.url, appended, excerpt(p.body))
					}
				}
			}
		})
	}
}

// TestTheHTTPRoleMatrixHasARunnerForEveryUse: every use of the table either has a page that does it or is
// known to have none.
func TestTheHTTPRoleMatrixHasARunnerForEveryUse(t *testing.T) {
	t.Parallel()
	rolematrix.CheckRunners(t, rolematrix.Identity, slices.Collect(maps.Keys(httpRunners())), withoutAPage)
}

// countEvents counts the committed events, visible or not yet to the projectors.
func countEvents(t *testing.T, e *env) int {
	t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM events`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
