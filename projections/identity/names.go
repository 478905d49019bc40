package identity

// IdentityProjector is the one projector of identity and access: it owns every identity table (users,
// orgs, org_members, backends, backend_members, backend_job_requests, backend_jobs, projects,
// project_members), so each page reads one projector and a person is one row, in users.
const IdentityProjector = "identity"

// The projector behind each kind of page, for the pages that wait for the one they read after a command.
// They are all IdentityProjector; the names say which pages a form's redirect leads to.
const (
	UsersProjector    = IdentityProjector // users
	OrgsProjector     = IdentityProjector // orgs, org_members
	BackendsProjector = IdentityProjector // backends, backend_members, backend_job_requests, backend_jobs
	ProjectsProjector = IdentityProjector // projects, project_members
)
