package web_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/mediciasafely/jobserver/domain"
)

func TestSettingsNeedALogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := e.browser().get("/settings").at("/login")
	if got := p.url.Query().Get("next"); got != "/settings" {
		t.Errorf("next=%q, want /settings", got)
	}
}

func TestSettingsShowTheGitHubAccountAndWhereNotificationsGo(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.browser()
	b.loginAs(e.user("ada"))
	b.get("/settings").expect(http.StatusOK,
		"<h1>Settings</h1>", "<dd>ada</dd>", "<dd>Ada Tester</dd>",
		`<label for="email">Notification e-mail address`,
		"Notifications about your jobs are sent here. Your GitHub e-mail is used until you set one.",
		`name="email" type="email" value="ada@example.org"`).
		lacks(`aria-invalid`)
}

func TestChangingTheNotificationAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	adaID := e.user("ada")
	b := e.browser()
	b.loginAs(adaID)

	b.post("/settings", url.Values{"email": {"not an address"}}).at("/settings").
		expect(http.StatusUnprocessableEntity,
			`<p class="field-error" id="email-error"><span class="visually-hidden">Error: </span>Please enter an e-mail address such as ada@example.org.</p>`,
			`value="not an address"`, `aria-invalid="true"`, `aria-describedby="email-help email-error"`).
		lacks("Settings saved")
	b.post("/settings", url.Values{"email": {""}}).expect(http.StatusUnprocessableEntity, "Please enter an e-mail address.")
	if n := len(eventsOfType(e.eventLog(), "NotificationEmailChanged")); n != 0 {
		t.Fatalf("%d changes recorded for refused addresses", n)
	}

	b.post("/settings", url.Values{"email": {"ada@lab.example.org"}}).at("/settings").
		expect(http.StatusOK, "Settings saved", `value="ada@lab.example.org"`).lacks("field-error")
	changed := eventsOfType(e.eventLog(), "NotificationEmailChanged")
	if len(changed) != 1 {
		t.Fatalf("%d NotificationEmailChanged events, want 1", len(changed))
	}
	if got := eventPayload[domain.NotificationEmailChanged](t, changed[0], "ada@lab").Email.Value(); got != "ada@lab.example.org" || changed[0].Metadata.Actor != "user:"+adaID {
		t.Errorf("recorded %v by %q", got, changed[0].Metadata.Actor)
	}

	// Saving the same address again is fine and records nothing.
	b.post("/settings", url.Values{"email": {"ada@lab.example.org"}}).expect(http.StatusOK, "Settings saved")
	if n := len(eventsOfType(e.eventLog(), "NotificationEmailChanged")); n != 1 {
		t.Errorf("%d NotificationEmailChanged events after saving the same address", n)
	}
}
