package staff

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/http/web/kit"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
)

// staffOrgsPage is the Data of "staff_orgs": every organisation and the form that creates one.
type staffOrgsPage struct {
	Orgs      []identityviews.Org
	CanCreate bool     // org_create
	Create    kit.Form // name, slug
}

// staffOrgPage is the Data of "staff_org": one organisation, its members and its projects.
type staffOrgPage struct {
	Org       identityviews.Org
	Members   []identityviews.User
	Projects  []identityviews.Project
	CanManage bool     // org_create: add and remove members
	AddMember kit.Form // login
}

func (a *Handlers) staffOrgs(w http.ResponseWriter, r *http.Request) error {
	return a.showStaffOrgs(w, r, http.StatusOK, kit.Form{})
}

func (a *Handlers) showStaffOrgs(w http.ResponseWriter, r *http.Request, status int, create kit.Form) error {
	orgs, err := a.Queries.Orgs(r.Context())
	if err != nil {
		return err
	}
	a.Page(w, r, status, "staff_orgs", kit.View{
		Title:  "Organisations",
		Crumbs: staffCrumbs(kit.Crumb{Label: "Organisations"}),
		Data:   staffOrgsPage{Orgs: orgs, CanCreate: staffPerms(r).Has(domain.OrgCreate), Create: create},
	})
	return nil
}

func (a *Handlers) staffCreateOrg(w http.ResponseWriter, r *http.Request) error {
	f := kit.PostedForm(r, "name", "slug")
	created, err := a.Identity.CreateOrg.Handle(r.Context(), identity.CreateOrg{
		Actor: kit.Actor(r), Name: f.Values["name"], Slug: f.Values["slug"],
	})
	if errs, ok := kit.FieldErrors(err); ok {
		f.Errors = errs
		return a.showStaffOrgs(w, r, http.StatusUnprocessableEntity, f)
	}
	if err != nil {
		return err
	}
	a.Done(w, r, created.Result, "Organisation "+f.Values["name"]+" created", "/staff/orgs/"+created.ID, identityviews.OrgsProjector)
	return nil
}

func (a *Handlers) staffOrg(w http.ResponseWriter, r *http.Request) error {
	return a.showStaffOrg(w, r, http.StatusOK, chi.URLParam(r, "id"), kit.Form{})
}

func (a *Handlers) showStaffOrg(w http.ResponseWriter, r *http.Request, status int, id string, addMember kit.Form) error {
	org, err := staffLookup(r, id, a.Queries.Org)
	if err != nil {
		return err
	}
	members, err := a.Queries.OrgMembers(r.Context(), org.ID)
	if err != nil {
		return err
	}
	projects, err := a.Queries.ProjectsOfOrg(r.Context(), org.ID)
	if err != nil {
		return err
	}
	a.Page(w, r, status, "staff_org", kit.View{
		Title:  "Organisation " + org.Name,
		Crumbs: staffCrumbs(kit.Crumb{Label: "Organisations", URL: "/staff/orgs"}, kit.Crumb{Label: org.Name}),
		Data: staffOrgPage{Org: org, Members: members, Projects: projects,
			CanManage: staffPerms(r).Has(domain.OrgCreate), AddMember: addMember},
	})
	return nil
}

func (a *Handlers) staffAddOrgMember(w http.ResponseWriter, r *http.Request) error {
	org, err := staffLookup(r, chi.URLParam(r, "id"), a.Queries.Org)
	if err != nil {
		return err
	}
	f := kit.PostedForm(r, "login")
	user, res, fields, err := kit.AddMember(r.Context(), a.Queries, f.Values["login"], func(userID string) (commands.Result, error) {
		return a.Identity.AddOrgMember.Handle(r.Context(), identity.AddOrgMember{Actor: kit.Actor(r), OrgID: org.ID, UserID: userID})
	})
	if fields != nil {
		f.Errors = fields
		return a.showStaffOrg(w, r, http.StatusUnprocessableEntity, org.ID, f)
	}
	if err != nil {
		return err
	}
	a.Done(w, r, res, staffMemberAdded(res.Changed(), user.DisplayName(), org.Name), "/staff/orgs/"+org.ID, identityviews.OrgsProjector)
	return nil
}

func (a *Handlers) staffRemoveOrgMember(w http.ResponseWriter, r *http.Request) error {
	org, err := staffLookup(r, chi.URLParam(r, "id"), a.Queries.Org)
	if err != nil {
		return err
	}
	userID := chi.URLParam(r, "userID")
	res, err := a.Identity.RemoveOrgMember.Handle(r.Context(), identity.RemoveOrgMember{Actor: kit.Actor(r), OrgID: org.ID, UserID: userID})
	if err != nil {
		return err
	}
	a.Done(w, r, res, kit.DisplayName(r.Context(), a.Queries, userID)+" removed from "+org.Name, "/staff/orgs/"+org.ID, identityviews.OrgsProjector)
	return nil
}
