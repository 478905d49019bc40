package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/domain"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
)

// staffOrgsPage is the Data of "staff_orgs": every organisation and the form that creates one.
type staffOrgsPage struct {
	Orgs      []identityviews.Org
	CanCreate bool      // org_create
	Create    staffForm // name, slug
}

// staffOrgPage is the Data of "staff_org": one organisation, its members and its projects.
type staffOrgPage struct {
	Org       identityviews.Org
	Members   []identityviews.User
	Projects  []identityviews.Project
	CanManage bool      // org_create: add and remove members
	AddMember staffForm // login
}

func (a *App) staffOrgs(w http.ResponseWriter, r *http.Request) {
	a.showStaffOrgs(w, r, http.StatusOK, staffForm{})
}

func (a *App) showStaffOrgs(w http.ResponseWriter, r *http.Request, status int, create staffForm) {
	orgs, err := a.Queries.Orgs(r.Context())
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	a.renderer.Page(w, r, status, "staff_orgs", View{
		Title:  "Organisations",
		Crumbs: staffCrumbs(Crumb{Label: "Organisations"}),
		Data:   staffOrgsPage{Orgs: orgs, CanCreate: staffPerms(r).Has(domain.OrgCreate), Create: create},
	})
}

func (a *App) staffCreateOrg(w http.ResponseWriter, r *http.Request) {
	f := staffPostedForm(r, "name", "slug")
	created, err := a.Identity.CreateOrg.Handle(r.Context(), identity.CreateOrg{
		Actor: actor(r), Name: f.Values["name"], Slug: f.Values["slug"],
	})
	if errs, ok := fieldErrors(err); ok {
		f.Errors = errs
		a.showStaffOrgs(w, r, http.StatusUnprocessableEntity, f)
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.done(w, r, created.Result, "Organisation "+f.Values["name"]+" created", "/staff/orgs/"+created.ID)
}

func (a *App) staffOrg(w http.ResponseWriter, r *http.Request) {
	a.showStaffOrg(w, r, http.StatusOK, chi.URLParam(r, "id"), staffForm{})
}

func (a *App) showStaffOrg(w http.ResponseWriter, r *http.Request, status int, id string, addMember staffForm) {
	org, ok := staffLookup(a, w, r, id, a.Queries.Org)
	if !ok {
		return
	}
	members, err := a.Queries.OrgMembers(r.Context(), org.ID)
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	projects, err := a.Queries.ProjectsOfOrg(r.Context(), org.ID)
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	a.renderer.Page(w, r, status, "staff_org", View{
		Title:  "Organisation " + org.Name,
		Crumbs: staffCrumbs(Crumb{Label: "Organisations", URL: "/staff/orgs"}, Crumb{Label: org.Name}),
		Data: staffOrgPage{Org: org, Members: members, Projects: projects,
			CanManage: staffPerms(r).Has(domain.OrgCreate), AddMember: addMember},
	})
}

func (a *App) staffAddOrgMember(w http.ResponseWriter, r *http.Request) {
	org, ok := staffLookup(a, w, r, chi.URLParam(r, "id"), a.Queries.Org)
	if !ok {
		return
	}
	f := staffPostedForm(r, "login")
	user, message, err := a.userByLogin(r.Context(), f.Values["login"])
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	if message != "" {
		a.showStaffOrg(w, r, http.StatusUnprocessableEntity, org.ID, f.invalid("login", message))
		return
	}
	res, err := a.Identity.AddOrgMember.Handle(r.Context(), identity.AddOrgMember{
		Actor: actor(r), OrgID: org.ID, UserID: user.ID,
	})
	if errs, ok := fieldErrors(err); ok {
		f.Errors = loginFieldErrors(errs)
		a.showStaffOrg(w, r, http.StatusUnprocessableEntity, org.ID, f)
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.done(w, r, res, staffMemberAdded(!!res.Changed(), user.DisplayName(), org.Name), "/staff/orgs/"+org.ID)
}

func (a *App) staffRemoveOrgMember(w http.ResponseWriter, r *http.Request) {
	org, ok := staffLookup(a, w, r, chi.URLParam(r, "id"), a.Queries.Org)
	if !ok {
		return
	}
	userID := chi.URLParam(r, "userID")
	res, err := a.Identity.RemoveOrgMember.Handle(r.Context(), identity.RemoveOrgMember{
		Actor: actor(r), OrgID: org.ID, UserID: userID,
	})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.done(w, r, res, a.displayName(r, userID)+" removed from "+org.Name, "/staff/orgs/"+org.ID)
}
