package kit

import (
	"html/template"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestRelativeTimeReadsTheWayPeopleSayIt(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)
	for _, test := range []struct {
		at   time.Time
		want string
	}{
		{now.Add(-20 * time.Second), "just now"},
		{now.Add(-1 * time.Minute), "1 minute ago"},
		{now.Add(-59 * time.Minute), "59 minutes ago"},
		{now.Add(-3 * time.Hour), "3 hours ago"},
		{now.Add(-26 * time.Hour), "1 day ago"},
		{now.Add(-29 * 24 * time.Hour), "29 days ago"},
		{now.Add(-45 * 24 * time.Hour), "on 1 May 2025"},
		{now.Add(5 * time.Minute), "in 5 minutes"},
	} {
		if got := relativeTime(test.at, now); got != test.want {
			t.Errorf("relativeTime(%v) = %q, want %q", test.at, got, test.want)
		}
	}
}

func TestTimesRenderAsTimeElementsInUTC(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)
	started := time.Date(2025, 6, 15, 13, 30, 0, 0, time.FixedZone("CEST", 2*60*60)) // 11:30 UTC
	var notYet *time.Time

	ago, err := timeago(started, now)
	if err != nil {
		t.Fatal(err)
	}
	if want := template.HTML(`<time datetime="2025-06-15T11:30:00Z" title="15 Jun 2025 11:30 UTC">30 minutes ago</time>`); ago != want {
		t.Errorf("timeago = %s, want %s", ago, want)
	}
	absolute, _ := datetime(&started)
	if want := template.HTML(`<time datetime="2025-06-15T11:30:00Z">15 Jun 2025 11:30 UTC</time>`); absolute != want {
		t.Errorf("datetime = %s, want %s", absolute, want)
	}
	if missing, _ := datetime(notYet); missing != timeNotSet {
		t.Errorf("datetime(nil) = %s, want %s", missing, timeNotSet)
	}
	if _, err := timeago("yesterday", now); err == nil {
		t.Error("timeago of a string succeeded, want an error")
	}
}

func TestTimeagoInAPageUsesTheRenderersClock(t *testing.T) {
	t.Parallel()
	renderer, err := newRenderer(templatesWith(t, map[string]string{
		"pages/when.html": `{{define "content"}}<p>Started {{timeago .Data}}</p>{{end}}`,
	}), fixedChrome(Chrome{}))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)
	renderer.now = func() time.Time { return now }
	w := httptest.NewRecorder()

	renderer.Page(w, get("/"), http.StatusOK, "when", View{Data: now.Add(-2 * time.Hour)})

	assertContains(t, w.Body.String(), `<p>Started <time datetime="2025-06-15T10:00:00Z" title="15 Jun 2025 10:00 UTC">2 hours ago</time></p>`)
}

func TestDictAndJoin(t *testing.T) {
	t.Parallel()
	type role string

	args, err := dict("Name", "email", "Required", true)
	if err != nil || args["Name"] != "email" || args["Required"] != true {
		t.Errorf("dict = %v, %v", args, err)
	}
	if _, err := dict("Name"); err == nil {
		t.Error("dict with a key and no value succeeded, want an error")
	}
	if _, err := dict(1, "one"); err == nil {
		t.Error("dict with a non-string key succeeded, want an error")
	}

	joined, err := join(", ", []role{"Project Developer", "Output Checker"})
	if err != nil || joined != "Project Developer, Output Checker" {
		t.Errorf("join = %q, %v", joined, err)
	}
	if _, err := join(", ", 42); err == nil {
		t.Error("join of a number succeeded, want an error")
	}
}

func TestCSRFFieldEscapesTheToken(t *testing.T) {
	t.Parallel()
	got := csrfField(`"><script>`)
	want := template.HTML(`<input type="hidden" name="gorilla.csrf.Token" value="&#34;&gt;&lt;script&gt;">`)
	if got != want {
		t.Errorf("csrfField = %s, want %s", got, want)
	}
}
