package staff

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/mediciasafely/jobserver/commands/runners"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/http/web/kit"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
)

// Protocols is the staff page that sets how the server talks to a backend: the classic protocol (its
// runner polls us) or the RAP API (we call its controller, at a URL, with a client token). The token field
// is write-only: the page never shows a stored token, only when one was last set.
type Protocols struct {
	kit.Slice
	RAP *runners.RAP
}

// protocolPage is the Data of "staff_backend_protocol".
type protocolPage struct {
	Backend      identityviews.Backend
	Options      []kit.Option
	Form         kit.Form // protocol, controller_url (never the token)
	ProtocolName string
	TokenSet     kit.Value
	CanManage    bool
}

// Routes mounts the page at /staff/backends/{id}/protocol, behind the staff area's own checks.
func (p *Protocols) Routes(r chi.Router) {
	staffOnly := &Handlers{Slice: p.Slice}
	r.With(kit.RequireLogin, staffOnly.requireStaff).Get("/staff/backends/{id}/protocol", p.Handle(p.show))
	r.With(kit.RequireLogin, staffOnly.requireStaff).Post("/staff/backends/{id}/protocol", p.Handle(p.set))
}

func (p *Protocols) show(w http.ResponseWriter, r *http.Request) error {
	return p.render(w, r, http.StatusOK, kit.Form{})
}

func (p *Protocols) render(w http.ResponseWriter, r *http.Request, status int, f kit.Form) error {
	b, err := staffLookup(r, chi.URLParam(r, "id"), p.Queries.Backend)
	if err != nil {
		return err
	}
	if f.Values == nil {
		f.Values = map[string]string{"protocol": b.Protocol, "controller_url": b.ControllerURL}
	}
	page := protocolPage{Backend: b, Form: f, ProtocolName: protocolName(b.Protocol), CanManage: staffPerms(r).Has(domain.BackendManage)}
	if b.ClientTokenSetAt != nil {
		page.TokenSet = kit.Value{Time: *b.ClientTokenSetAt, Ago: true}
	}
	for _, o := range []kit.Option{{Value: domain.ProtocolClassic, Label: "Classic: the backend's runner polls MediciaSAFELY"},
		{Value: domain.ProtocolRAP, Label: "RAP API: MediciaSAFELY calls the backend's controller"}} {
		o.Selected = o.Value == f.Values["protocol"]
		page.Options = append(page.Options, o)
	}
	p.Page(w, r, status, "staff_backend_protocol", kit.View{
		Title: "Protocol of backend " + b.Slug,
		Crumbs: staffCrumbs(kit.Crumb{Label: "Backends", URL: "/staff/backends"}, kit.Crumb{Label: b.Slug, URL: "/staff/backends/" + b.ID},
			kit.Crumb{Label: "Protocol"}),
		Data: page,
	})
	return nil
}

// set saves the protocol; the token, when one is typed, is sealed and never shown again.
func (p *Protocols) set(w http.ResponseWriter, r *http.Request) error {
	f := kit.PostedForm(r, "protocol", "controller_url")
	id := chi.URLParam(r, "id")
	res, err := p.RAP.SetBackendProtocol.Handle(r.Context(), runners.SetBackendProtocol{Actor: kit.Actor(r), BackendID: id,
		Protocol: f.Values["protocol"], ControllerURL: f.Values["controller_url"], ClientToken: r.PostFormValue("client_token")})
	if errs, ok := kit.FieldErrors(err); ok {
		f.Errors = errs
		return p.render(w, r, http.StatusUnprocessableEntity, f)
	}
	if err != nil {
		return err
	}
	message := "The protocol is unchanged"
	if res.Changed() {
		message = "Protocol saved"
	}
	p.Done(w, r, res, message, "/staff/backends/"+id+"/protocol", identityviews.BackendsProjector)
	return nil
}

// protocolName is how the staff pages name a protocol.
func protocolName(protocol string) string {
	if protocol == domain.ProtocolRAP {
		return "RAP API"
	}
	return "Classic"
}
