package web_test

import (
	"context"
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
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
	webeventlog "github.com/mediciasafely/jobserver/http/web/eventlog"
)

var (
	pagedRequest = regexp.MustCompile(`<tr id="request-(pagedreq\d{2})">`)
	olderLink    = regexp.MustCompile(`<a href="([^"]+)" rel="next">Older</a>`)
	newerLink    = regexp.MustCompile(`<a href="([^"]+)" rel="prev">Newer</a>`)
)

// requestsOn are the paged job requests a page of the event log lists, in the page's order.
func requestsOn(p *page) []string {
	var ids []string
	for _, m := range pagedRequest.FindAllStringSubmatch(p.body, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

// link is the address of the page's Older or Newer link, "" when it has none.
func link(p *page, re *regexp.Regexp) string {
	m := re.FindStringSubmatch(p.body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

func TestTheEventLogPagesThroughEveryRequestOnceNewestFirstKeepingItsFilters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := setUpMyStudy(e)
	backend := s.newBackend("rcdemo2", "RC Demo 2", s.developer)
	log := commands.NewEventLog(e.store, domain.Events, time.Now)
	ctx := context.Background()
	appendTo := func(stream string, events ...domain.Event) commands.Result {
		t.Helper()
		res, err := log.Append(ctx, commands.CLIActor, []commands.Write{{Stream: stream, Expected: eventstore.Any, Events: events}})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	workspaces := map[string]string{"pagingone": strings.ToLower(domain.NewULID(time.Now()).String()), "pagingtwo": strings.ToLower(domain.NewULID(time.Now()).String())}
	for name, id := range workspaces {
		appendTo(domain.WorkspaceStream(id), domain.WorkspaceCreated{WorkspaceID: id, ProjectID: s.project, Name: name,
			RepoURL: "https://github.com/MediciaAI/TestTeam", Branch: "main", CreatedBy: s.developer})
	}
	// 35 requests, one after the other: 30 in pagingone, every seventh (5) in pagingtwo.
	var all, inOne []string
	var last commands.Result
	for i := range 35 {
		id := fmt.Sprintf("pagedreq%02d", i)
		ws := "pagingone"
		if i%7 == 3 {
			ws = "pagingtwo"
		} else {
			inOne = append(inOne, id)
		}
		all = append(all, id)
		last = appendTo(domain.JobRequestStream(id), domain.JobRequested{JobRequestID: id, WorkspaceID: workspaces[ws],
			ProjectID: s.project, BackendID: backend, SHA: "0123456789abcdef0123456789abcdef01234567",
			RequestedActions: []string{"generate_dataset"}, ProjectDefinition: "version: '4.0'", RequestedBy: s.developer})
	}
	e.sync(last)
	slices.Reverse(all)
	slices.Reverse(inOne)

	b := s.as(s.collaborator)
	walk := func(first string, want []string) {
		t.Helper()
		if len(want) <= webeventlog.PageSize || len(want) > 2*webeventlog.PageSize {
			t.Fatalf("the walk wants two pages, not %d requests", len(want))
		}
		p1 := b.get(first).expect(http.StatusOK)
		got1 := requestsOn(p1)
		if !slices.Equal(got1, want[:webeventlog.PageSize]) {
			t.Fatalf("%s: first page %v, want %v", first, got1, want[:webeventlog.PageSize])
		}
		if link(p1, newerLink) != "" {
			t.Errorf("%s: the first page links to newer requests", first)
		}
		older := link(p1, olderLink)
		if older == "" {
			t.Fatalf("%s: no Older link on a full first page\n%s", first, excerpt(p1.body))
		}
		p2 := b.get(older).expect(http.StatusOK)
		got2 := requestsOn(p2)
		if !slices.Equal(got2, want[webeventlog.PageSize:]) {
			t.Fatalf("%s: second page %v, want %v", older, got2, want[webeventlog.PageSize:])
		}
		if both := append(slices.Clone(got1), got2...); !slices.Equal(both, want) {
			t.Errorf("the two pages list %v, want every request once newest first %v", both, want)
		}
		if link(p2, olderLink) != "" {
			t.Errorf("%s: the last page links to older requests", older)
		}
		newer := link(p2, newerLink)
		if newer == "" {
			t.Fatalf("%s: no Newer link on the second page\n%s", older, excerpt(p2.body))
		}
		back := b.get(newer).expect(http.StatusOK)
		if got := requestsOn(back); !slices.Equal(got, want[:webeventlog.PageSize]) {
			t.Errorf("%s: back to the first page %v, want %v", newer, got, want[:webeventlog.PageSize])
		}
		if link(back, newerLink) != "" {
			t.Errorf("%s: back on the first page, it still links to newer requests", newer)
		}
		if link(back, olderLink) != older {
			t.Errorf("%s: back on the first page, Older is %q, was %q", newer, link(back, olderLink), older)
		}
		for _, l := range []string{older, newer} {
			if u, err := url.Parse(l); err != nil || u.Path != "/event-log" {
				t.Errorf("page link %q: %v", l, err)
			}
		}
	}
	walk("/event-log", all)
	walk("/event-log?workspace=pagingone", inOne)

	// The filter goes with the cursor to the next page.
	first := b.get("/event-log?workspace=pagingone").expect(http.StatusOK)
	if u, err := url.Parse(link(first, olderLink)); err != nil || u.Query().Get("workspace") != "pagingone" || u.Query().Get("after") == "" {
		t.Errorf("Older link of the filtered log: %q %v", link(first, olderLink), err)
	}
	b.get("/event-log?workspace=pagingtwo").expect(http.StatusOK, "pagedreq31", "pagedreq03").
		lacks("pagedreq34", `rel="next">Older`, `rel="prev">Newer`)

	// A cursor that is no place in the log is the reader's input error, said so, not a server error.
	for _, bad := range []string{"?after=garbage", "?before=garbage", "?after=2026-01-01T00:00:00Z~", "?workspace=pagingone&before=~x"} {
		p := b.get("/event-log" + bad)
		if p.status != http.StatusUnprocessableEntity {
			t.Errorf("%s: status %d, want 422\n%s", bad, p.status, excerpt(p.body))
		}
		p.expect(p.status, "This page of the event log is not one it has").lacks("pagedreq")
	}
}
