package web_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/internal/rolematrix"
	"github.com/mediciasafely/jobserver/projections/audit"
)

// history is the address of an object's history.
func history(stream string) string { return "/audit/history?stream=" + url.QueryEscape(stream) }

func TestTheAuditLogSaysEachEventForPeopleAndOnlyAuditorsReadIt(t *testing.T) {
	e := newEnv(t)
	s := setUpMyStudy(e)
	reviewer := e.user("greta", domain.GovernanceReviewer)
	// Cora renames MyStudy through its settings page: her request's id is the events' correlation id.
	s.as(s.coordinator).post(s.settingsURL, renameForm("My Great Study")).expect(http.StatusOK)

	auditor := s.as(reviewer)
	p := auditor.get("/audit").expect(http.StatusOK,
		`Audit log</a></li>`, // the top bar's link, for auditors only
		`Cora Tester</a> renamed the project <a href="/audit/history?stream=project-`+s.project+`">My Great Study</a> to &ldquo;My Great Study&rdquo;.`,
		`The operator (command line) added <a href="/audit/history?stream=user-`+s.developer+`">Devon Tester</a> to`,
		"with the role Project Developer.",
		"<summary>Data and metadata", `&#34;Name&#34;: &#34;My Great Study&#34;`)
	// Newest first: the rename before the members were added.
	if strings.Index(p.body, "renamed the project") > strings.Index(p.body, "added <a") {
		t.Error("the log is not newest first")
	}
	s.as(s.admin).get("/audit").expect(http.StatusOK, "renamed the project")
	for _, who := range []string{s.coordinator, s.developer, s.outsider} {
		s.as(who).get("/audit").expect(http.StatusForbidden, "Only auditors and admins can read the full event history.").
			lacks(`Audit log</a></li>`)
	}
	sentToLogin(t, e.browser().get("/audit"), "/audit")

	// Everything Cora's request did: the rename, and the name reservations of the same append.
	link := regexp.MustCompile(`href="(/audit\?correlation=[^"]+)">Everything this request did`).FindStringSubmatch(p.body)
	if link == nil {
		t.Fatal("no link to everything the rename's request did")
	}
	did := auditor.get(html.UnescapeString(link[1])).expect(http.StatusOK, "renamed the project", `took the project name &ldquo;My Great Study&rdquo;`,
		`gave up the project name &ldquo;MyStudy&rdquo;`)
	if n := strings.Count(did.body, `<li id="event-`); n != 3 {
		t.Errorf("the rename's request did %d events, want 3 (the rename and the two names)", n)
	}
}

func TestTheAuditLogFiltersByObjectTypeActorTimeAndPages(t *testing.T) {
	e := newEnv(t)
	s := setUpMyStudy(e)
	b := s.as(s.admin)
	count := func(p *page) int { return strings.Count(p.body, `<li id="event-`) }

	byProject := b.get("/audit?stream=project-"+s.project).expect(http.StatusOK, `value="project-`+s.project+`"`)
	if n := count(byProject); n != 4 { // created, and three members added
		t.Errorf("MyStudy's stream has %d events, want 4\n%s", n, excerpt(byProject.body))
	}
	if n := count(b.get("/audit?type=ProjectMemberAdded").expect(http.StatusOK, "<option selected>ProjectMemberAdded</option>")); n != 4 {
		t.Errorf("%d ProjectMemberAdded events, want 4", n)
	}
	if n := count(b.get("/audit?type=ProjectMemberAdded&stream=project-" + s.other)); n != 1 {
		t.Errorf("%d ProjectMemberAdded events in OtherStudy, want 1", n)
	}
	// Everything above was done at the command line; Cora's rename through the page is hers.
	s.as(s.coordinator).post(s.settingsURL, renameForm("Renamed")).expect(http.StatusOK)
	// Hers are her sign-up (registered, GitHub account linked) and the rename (and its two names).
	// The account's link names her: the sentence opens the sealed user id with the keys the server holds.
	if n := count(b.get("/audit?actor=cora").expect(http.StatusOK, "renamed the project", "signed up with their GitHub account",
		`A GitHub account was linked to <a href="/audit/history?stream=user-`+s.coordinator+`">Cora Tester</a>`)); n != 5 {
		t.Errorf("cora did %d events, want 5", n)
	}
	if p := b.get("/audit?actor=cli"); strings.Contains(p.body, "renamed the project") || count(p) < 10 {
		t.Errorf("the command line's events: %d, with Cora's rename among them: %t", count(p), strings.Contains(p.body, "renamed"))
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	b.get("/audit?from="+future).expect(http.StatusOK, "No events match.")
	if n := count(b.get("/audit?until=" + future + "&type=ProjectCreated")); n != 2 {
		t.Errorf("%d projects created until an hour from now, want 2", n)
	}
	b.get("/audit?actor=nobody-at-all&from=yesterday").expect(http.StatusUnprocessableEntity,
		"No one has the GitHub login nobody-at-all", "Write a time such as 2026-12-31T23:59:59Z")
	b.get("/audit?type=NoSuchThing").expect(http.StatusUnprocessableEntity, "There is no event type called NoSuchThing.")
	b.get("/audit?after=garbage").expect(http.StatusUnprocessableEntity, "This page&#39;s address is not one of the log&#39;s.")

	// Pages of 50, newest first, older and back to newer without losing or repeating an event.
	for i := range 60 {
		e.must(e.cmds.RenameProject.Handle(context.Background(), identity.RenameProject{Actor: commands.CLIActor,
			ProjectID: s.other, Name: "Other " + string(rune('A'+i%26)) + string(rune('a'+i/26))}))
	}
	first := b.get("/audit?type=ProjectRenamed")
	if n := count(first); n != 50 {
		t.Fatalf("the first page has %d events, want 50", n)
	}
	older := regexp.MustCompile(`href="([^"]+)" rel="next">Older`).FindStringSubmatch(first.body)
	if older == nil || strings.Contains(first.body, `rel="prev"`) {
		t.Fatal("the first page links to no older page, or to a newer one")
	}
	second := b.get(html.UnescapeString(older[1]))
	if n := count(second); n != 11 { // 60 renames and Cora's
		t.Fatalf("the second page has %d events, want 11", n)
	}
	if !strings.Contains(html.UnescapeString(older[1]), "type=ProjectRenamed") {
		t.Errorf("the next page's address %s lost the filter", older[1])
	}
	ids := regexp.MustCompile(`<li id="(event-[^"]+)"`)
	seen := map[string]bool{}
	for _, m := range append(ids.FindAllStringSubmatch(first.body, -1), ids.FindAllStringSubmatch(second.body, -1)...) {
		if seen[m[1]] {
			t.Errorf("%s is on both pages", m[1])
		}
		seen[m[1]] = true
	}
	newer := regexp.MustCompile(`href="([^"]+)" rel="prev">Newer`).FindStringSubmatch(second.body)
	if newer == nil {
		t.Fatal("the second page links to no newer page")
	}
	if back := b.get(html.UnescapeString(newer[1])); count(back) != 50 || strings.Contains(back.body, `rel="prev"`) {
		t.Errorf("back to the newest page: %d events", count(back))
	}
}

func TestHistoryIsForTheProjectsMembersAndAuditors(t *testing.T) {
	e := newEnv(t)
	s := setUpMyStudy(e)
	reviewer := e.user("greta", domain.GovernanceReviewer)
	projectHistory := history("project-" + s.project)

	s.as(s.developer).get(s.studyURL).expect(http.StatusOK, `href="`+html.EscapeString(projectHistory)+`">History</a>`)
	for _, who := range []string{s.coordinator, s.developer, s.collaborator} {
		p := s.as(who).get(projectHistory).expect(http.StatusOK, "<h1>History of MyStudy</h1>", "created the project &ldquo;MyStudy&rdquo;")
		// The whole log is not theirs: no link into it.
		p.lacks("Everything this request did", "Filter in the audit log")
	}
	for _, who := range []string{reviewer, s.admin} {
		s.as(who).get(projectHistory).expect(http.StatusOK, "<h1>History of MyStudy</h1>", "Export with its hash chain")
	}
	for _, who := range []string{s.otherCoordinator, s.outsider} {
		s.as(who).get(projectHistory).expect(http.StatusForbidden, "Only the members of its project, auditors and admins can read this history.")
	}
	// An organisation, a person or a backend belongs to no project: auditors only.
	for _, stream := range []string{"org-" + s.org, "user-" + s.developer} {
		s.as(s.coordinator).get(history(stream)).expect(http.StatusForbidden)
		s.as(reviewer).get(history(stream)).expect(http.StatusOK, "History of")
	}
	s.as(reviewer).get(history("user-"+s.developer)).expect(http.StatusOK, "<h1>History of Devon Tester</h1>", "signed up with their GitHub account")
	s.as(s.admin).get("/audit/history").expect(http.StatusUnprocessableEntity, "Say whose history to show")
}

func TestTheAuditExportIsTheSealedLogAndVerifies(t *testing.T) {
	e := newEnv(t)
	s := setUpMyStudy(e)
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := audit.NewSealer(e.pool, e.store.Notifier(), key, nil, audit.SealerOptions{}).Seal(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.as(s.developer).get("/audit/export").expect(http.StatusForbidden, "Only auditors and admins")

	req, err := http.NewRequest(http.MethodGet, e.server.URL+"/audit/export", nil)
	if err != nil {
		t.Fatal(err)
	}
	b := s.as(s.admin)
	resp, err := b.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	if _, err := body.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/x-ndjson" ||
		!strings.HasPrefix(resp.Header.Get("Content-Disposition"), `attachment; filename="jobserver-audit-`) {
		t.Fatalf("export: %d %v", resp.StatusCode, resp.Header)
	}
	src, err := audit.ReadExport(&body)
	if err != nil {
		t.Fatal(err)
	}
	report, err := audit.Verify(src, []ed25519.PublicKey{key.Public().(ed25519.PublicKey)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if report.Problem != nil || report.Events < 20 || report.Checkpoints == 0 {
		t.Errorf("the export verifies as %+v", report)
	}

	b.get("/audit/export?from=0").expect(http.StatusUnprocessableEntity, "from is a position in the chain")
	b.get("/audit/export?until=soon").expect(http.StatusUnprocessableEntity, "until must be a time")
	b.get("/audit/export?from=100000").expect(http.StatusUnprocessableEntity, "The export cannot start there")
	one := b.get("/audit/export?stream=project-"+s.project).expect(http.StatusOK, `"stream":"project-`+s.project+`"`)
	if n := strings.Count(one.body, `"kind":"event"`); n != 4 {
		t.Errorf("MyStudy's export has %d events, want 4", n)
	}
}

func TestPagesAsOfATimeShowWhatWasThenToAuditorsOnly(t *testing.T) {
	e := newEnv(t)
	s := setUpMyStudy(e)
	reviewer := e.user("greta", domain.GovernanceReviewer)
	time.Sleep(10 * time.Millisecond) // the renames are recorded after then
	then := time.Now().UTC()
	time.Sleep(10 * time.Millisecond)
	s.as(s.coordinator).post(s.settingsURL, renameForm("My Great Study")).expect(http.StatusOK)
	later := s.newProject("LaterStudy", s.org)

	asOf := "?as_of=" + url.QueryEscape(then.Format(time.RFC3339Nano))
	b := s.as(reviewer)
	p := b.get(s.studyURL+asOf).expect(http.StatusOK, "<h1>MyStudy</h1>", `class="past-banner"`, "As it was on",
		`href="/mediciaaiorg2?as_of=`, // links keep as_of
		`href="`+s.studyURL+`" data-now>See it as it is now</a>`)
	p.lacks("My Great Study")
	b.get(s.studyURL).expect(http.StatusOK, "<h1>My Great Study</h1>").lacks("past-banner")
	b.get("/mediciaaiorg2"+asOf).expect(http.StatusOK, "MyStudy", "OtherStudy").lacks("LaterStudy", "My Great Study")
	b.get("/mediciaaiorg2").expect(http.StatusOK, "LaterStudy", "My Great Study")
	if later == "" {
		t.Fatal("no later project")
	}

	// Only auditors travel, and only to look.
	s.as(s.coordinator).get(s.studyURL+asOf).expect(http.StatusForbidden, "Only auditors and admins can read the full event history.")
	b.get(s.studyURL+"?as_of=last+tuesday").expect(http.StatusUnprocessableEntity, "as_of must be a time")
	b.post(s.settingsURL+asOf, renameForm("Rewritten")).expect(http.StatusForbidden, "can be looked at, not changed")
	b.get(s.studyURL).expect(http.StatusOK, "<h1>My Great Study</h1>")
}

// historyLink is the address of the History link on a page, or "" when it has none.
func historyLink(p *page) string {
	m := regexp.MustCompile(`href="(/audit/history\?stream=[^"]+)"[^>]*>(History|Every event of this release)</a>`).FindStringSubmatch(p.body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

func TestEveryObjectsPageLinksToItsHistory(t *testing.T) {
	e := newEnv(t)
	w := setUpReleases(e)
	w.saveToken()
	dev := w.as(w.developer)
	request := requestJobs(t, e, dev, w.workspaceURL, "generate_dataset", w.backend)
	rel := w.release([]output{csvOutput("output/table.csv", 3)})
	application, _ := e.newApplication(w.outsider, "Twin Study", false)

	// What each object's page is, and what its history starts with.
	objects := []struct{ name, page, heading, created string }{
		{"organisation", "/mediciaaiorg2", "History of MediciaAIOrg2", "created the organisation"},
		{"project", w.studyURL, "History of MyStudy", "created the project &ldquo;MyStudy&rdquo;"},
		{"workspace", w.workspaceURL, "History of genetic", "created the workspace &ldquo;genetic&rdquo;"},
		{"job request", w.workspaceURL + "/" + request, "History of job request " + request, "asked to run &ldquo;generate_dataset&rdquo;"},
		{"backend", "/staff/backends/" + w.backend, "History of RC Demo 2", "created the backend"},
		{"user", "/staff/users/" + w.developer, "History of Devon Tester", "signed up with their GitHub account"},
		{"release", w.releaseURL(rel), "History of release " + rel.id, "released 1 file from the workspace"},
		{"application", "/staff/applications/" + application, "History of application " + application, "started"},
	}
	admin := w.as(w.admin)
	for _, o := range objects {
		// Released files are their project's and the output checkers': Devon finds the release's link.
		reader := admin
		if o.name == "release" {
			reader = dev
		}
		link := historyLink(reader.get(o.page).expect(http.StatusOK))
		if link == "" {
			t.Errorf("the %s's page %s has no History link", o.name, o.page)
			continue
		}
		admin.get(link).expect(http.StatusOK, "<h1>"+o.heading+"</h1>", o.created)
	}
	// Devon asked for the jobs through the page: an auditor follows his request to everything it did.
	admin.get(history("jobrequest-"+request)).expect(http.StatusOK, "Everything this request did")

	// Devon, a member of MyStudy, reads the histories of its workspace, job request and release from their
	// pages; an organisation's is the auditors' alone, so its page does not offer it to him.
	for _, o := range objects[1:4] {
		dev.get(historyLink(dev.get(o.page).expect(http.StatusOK))).expect(http.StatusOK, "<h1>"+o.heading+"</h1>", o.created).
			lacks("Everything this request did")
	}
	dev.get(historyLink(dev.get(w.releaseURL(rel)).expect(http.StatusOK))).expect(http.StatusOK, objects[6].created)
	if link := historyLink(dev.get("/mediciaaiorg2").expect(http.StatusOK)); link != "" {
		t.Errorf("the organisation's page offers its history %s to a member, who may not read it", link)
	}
	otto := w.as(w.outsider)
	for _, stream := range []string{"workspace-", "jobrequest-" + request, "release-" + rel.id, "application-" + application} {
		if stream == "workspace-" {
			stream = strings.TrimPrefix(historyLink(admin.get(w.workspaceURL)), "/audit/history?stream=")
		}
		otto.get(history(stream)).expect(http.StatusForbidden, "Only the members of its project, auditors and admins can read this history.")
	}

	// Otto, in the organisation but in no project, opens the pages of the organisation, the project, its
	// workspace and its job request, and none offers him a history he would be refused. Olive, an output
	// checker of the backend and no member of MyStudy, reads the release but is not offered its history.
	for _, o := range objects[:4] {
		if link := historyLink(otto.get(o.page).expect(http.StatusOK)); link != "" {
			t.Errorf("the %s's page offers its history %s to someone who may not read it", o.name, link)
		}
	}
	if link := historyLink(w.as(w.checker).get(w.releaseURL(rel)).expect(http.StatusOK)); link != "" {
		t.Errorf("the release's page offers its history %s to an output checker who is no member", link)
	}
	// Greta, a governance reviewer (audit_log_view without being an admin), is offered every history on
	// the pages of the organisation, the project, the workspace and the job request (released files are not
	// hers to open: the admin above found the release's link).
	greta := w.as(e.user("greta", domain.GovernanceReviewer))
	for _, o := range objects[:4] {
		link := historyLink(greta.get(o.page).expect(http.StatusOK))
		if link == "" {
			t.Errorf("the %s's page %s offers an auditor no History link", o.name, o.page)
			continue
		}
		greta.get(link).expect(http.StatusOK, "<h1>"+o.heading+"</h1>")
	}
}

// TestTheAuditPagesForEveryKindOfViewer reads the log, its export, a project's and an organisation's
// history and a page as it was as every kind of viewer of the role matrix: spec/roles.md gives
// audit_log_view to Core Developers and Governance Reviewers alone, and a project's histories are also
// its members'.
func TestTheAuditPagesForEveryKindOfViewer(t *testing.T) {
	e := newEnv(t)
	s := setUpMyStudy(e)
	auditors := []string{"global:core_developer", "global:governance_reviewer"}
	asOf := s.studyURL + "?as_of=" + url.QueryEscape(time.Now().UTC().Format(time.RFC3339Nano))
	for n, who := range rolematrix.Setups() {
		if who.CLI {
			continue
		}
		b := e.browser()
		if !who.Anonymous {
			var global []domain.Role
			if who.Global != "" {
				global = append(global, who.Global)
			}
			viewer := e.user(fmt.Sprintf("viewer%d", n), global...)
			e.must(e.cmds.AddOrgMember.Handle(context.Background(), identity.AddOrgMember{Actor: commands.CLIActor, OrgID: s.org, UserID: viewer}))
			switch {
			case who.Project != "":
				s.addMember(s.project, viewer, who.Project)
			case who.Other != "":
				s.addMember(s.other, viewer, who.Other)
			}
			b.loginAs(viewer)
		}
		auditor, member := slices.Contains(auditors, who.Key), who.Project != ""
		for _, c := range []struct {
			path string
			may  bool
		}{
			{"/audit", auditor}, {"/audit/export", auditor}, {asOf, auditor},
			{history("project-" + s.project), auditor || member}, {history("org-" + s.org), auditor},
		} {
			p := b.get(c.path)
			switch {
			case who.Anonymous:
				if p.url.Path != "/login" {
					t.Errorf("%s: an anonymous visitor got %d at %s, want the login page", c.path, p.status, p.url)
				}
			case c.may && p.status != http.StatusOK, !c.may && p.status != http.StatusForbidden:
				t.Errorf("%s as %s: %d, want it allowed: %t", c.path, who, p.status, c.may)
			}
		}
		if top := strings.Contains(b.get("/").body, `href="/audit"`); top != auditor {
			t.Errorf("%s: the top bar links to the audit log: %t", who, top)
		}
		// The project's page offers its History link to exactly those the history page lets in.
		if project := b.get(s.studyURL); !who.Anonymous {
			if linked := historyLink(project.expect(http.StatusOK)) != ""; linked != (auditor || member) {
				t.Errorf("%s: the project's page links to its history: %t, want %t", who, linked, auditor || member)
			}
		}
	}
}
