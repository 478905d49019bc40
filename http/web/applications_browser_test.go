package web_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/domain"
)

// The guide's step 2 in a real browser: the applicant opens Applications from the account menu, starts a new
// project, answers every page the application asks (the pages driven from their definitions in domain, by
// their labels), adds a researcher and submits; an admin, in a browser of their own, opens the application
// from Review applications and approves it fully into an organisation; the applicant's list then reads
// Approved Fully, and the project is on the organisation's page.
func TestAnApplicationFromStartANewProjectToApprovedFully(t *testing.T) {
	t.Parallel()
	chromium := startChromium(t)
	e := newEnv(t)
	e.user("ada")
	e.user("root", domain.CoreDeveloper)
	org, err := e.cmds.CreateOrg.Handle(context.Background(), identity.CreateOrg{Actor: commands.CLIActor, Name: "MediciaAIOrg2"})
	e.must(org.Result, err)

	ada := openWindow(t, chromium, e, "ada")
	ada.logInAsDemoUser("ada (Ada Tester)")
	ada.run("open the account menu", chromedp.Click(chromedp.CSS("header .user-menu summary")))
	ada.follow(`click "Applications"`, click("link", "Applications"))
	ada.expectPath("/applications")
	ada.sees("You have not started an application yet")
	ada.follow(`click "Start a new project"`, click("link", "Start a new project"))
	ada.expectPath("/apply")
	ada.tick(termsLabel)
	ada.follow(`click "Start now"`, click("button", "Start now"))
	ada.expectFlash("Application started")

	ada.answerEveryPage("Browser Study")
	ada.sees("Check and submit", "References", "Record-level data")
	if strings.Contains(ada.mainText(), "Not started") || strings.Contains(ada.mainText(), "Sponsor details") {
		ada.fail("a page is not complete, or a page research does not call for is listed")
	}
	ada.follow("submit", click("button", "Submit application"))
	ada.expectPath("/applications")
	ada.expectFlash("Application submitted")
	ada.sees("Browser Study", "Submitted")

	root := openWindow(t, chromium, e, "root")
	root.logInAsDemoUser("root (Root Tester)")
	root.follow(`click "Review applications"`, click("link", "Review applications"))
	root.follow("open the application", click("link", "Browser Study"))
	root.sees("Ada Tester", "Submitted", "An answer to Study purpose")
	root.approveFully("Browser Study", "MediciaAIOrg2 (mediciaaiorg2)")
	root.expectFlash("Application approved; project Browser Study created")
	root.sees("Approved Fully")
	root.follow("open the project", click("link", "Browser Study"))
	root.expectPath("/mediciaaiorg2/browser-study")

	ada.follow("reload the applications", chromedp.Reload())
	ada.sees("Browser Study", "Approved Fully")
	ada.open("/mediciaaiorg2")
	ada.sees("Browser Study")
}

// answerEveryPage answers every page the application asks, from the first to the confirmation page: the
// pages come from their definitions in domain, each answered by its fields' labels, the study named study.
func (w *window) answerEveryPage(study string) {
	w.t.Helper()
	for page := 0; strings.Contains(w.location().Path, "/page/"); page++ {
		if page > len(domain.ApplicationPages()) {
			w.fail("the pages never end")
		}
		key := w.location().Path[strings.LastIndex(w.location().Path, "/")+1:]
		def := applicationPage(w.t, key)
		w.sees(def.Title)
		if def.Researchers {
			w.follow(`click "Add a researcher"`, click("link", "Add a researcher"))
			w.answer(domain.ResearcherFields(), nil)
			w.follow("add the researcher", click("button", "Add researcher"))
			w.expectFlash("Researcher added")
			w.sees("Complete")
			w.follow(`click "Continue"`, click("link", "Continue"))
			continue
		}
		if key == domain.PageTypeOfStudy {
			w.tick("Research")
		} else {
			w.answer(def.Fields, map[string]string{domain.FieldStudyName: study})
		}
		w.follow("save "+def.Title, click("button", "Save and continue"))
		w.expectFlash("Page saved")
	}
	if here := w.location().Path; !strings.HasSuffix(here, "/confirmation") {
		w.fail("the last page led to %s, not to the confirmation page", here)
	}
}

// approveFully approves the open application fully, as an admin does from its review page: the project
// named after the study, into the organisation (as the drop-down shows it).
func (w *window) approveFully(study, org string) {
	w.t.Helper()
	w.follow(`click "Approve fully"`, click("link", "Approve fully"))
	if name := w.value("the project's name", chromedp.Value(describeRole("textbox", "Project name"), byRole("textbox", "Project name"))); name != study {
		w.fail("the project's name is %q, not the study's name", name)
	}
	w.choose("Organisation", org)
	w.follow("approve", click("button", "Approve and create the project"))
}

// termsLabel is the label of the box Start now needs ticked.
const termsLabel = "I agree to the terms: the application and its researchers' details are read by MediciaSAFELY's reviewers, and an approved study publishes its code."

// logInAsDemoUser logs in through the development login as the demo user shown as who.
func (w *window) logInAsDemoUser(who string) {
	w.t.Helper()
	w.open("/login")
	w.choose("Demo user", who)
	w.follow("log in", click("button", "Log in as this user"))
}

// answer answers the required fields of a page in the right form, found by their labels; given holds the
// answers to type instead, by field key.
func (w *window) answer(fields []domain.Field, given map[string]string) {
	w.t.Helper()
	answers := filledAnswers(fields)
	for key, value := range given {
		answers.Set(key, value)
	}
	for _, f := range fields {
		if !f.Required {
			continue
		}
		switch f.Kind {
		case domain.FieldCheckbox:
			w.tick(f.Label)
		case domain.FieldYesNo:
			w.run("answer yes to "+f.Label, click("radio", "Yes"))
		default:
			w.fill(f.Label, answers.Get(f.Key))
		}
	}
}
