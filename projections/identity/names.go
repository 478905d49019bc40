package identity

// The names of the identity projectors, for the pages that wait for the ones they read after a command.
const (
	UsersProjector    = "users"    // users
	OrgsProjector     = "orgs"     // orgs, org_members
	BackendsProjector = "backends" // backends, backend_members, backend_job_requests, backend_jobs
	ProjectsProjector = "projects" // projects, project_members
)
