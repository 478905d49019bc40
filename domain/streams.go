package domain

// Stream names. An aggregate instance has a stream of its own; a unique name (a slug, a GitHub account, a
// project name) is reserved in a stream of its own, appended with "no stream yet" in the same append as the
// creation, so two concurrent creations of one name cannot both succeed.

// UserStream is the stream of one user.
func UserStream(userID string) string { return "user-" + userID }

// GitHubUserStream reserves one GitHub account for the user it registered. It is named by a keyed
// pseudonym of the account's numeric id (the event log's Pseudonym), so a stream name says nobody's id.
func GitHubUserStream(pseudonym string) string { return "githubuser-" + pseudonym }

// BackendStream is the stream of one backend.
func BackendStream(backendID string) string { return "backend-" + backendID }

// BackendSlugStream reserves a backend slug.
func BackendSlugStream(slug string) string { return "backendslug-" + slug }

// OrgStream is the stream of one organisation.
func OrgStream(orgID string) string { return "org-" + orgID }

// OrgSlugStream reserves an organisation slug.
func OrgSlugStream(slug string) string { return "orgslug-" + slug }

// ProjectStream is the stream of one project.
func ProjectStream(projectID string) string { return "project-" + projectID }

// ProjectSlugStream reserves a project slug.
func ProjectSlugStream(slug string) string { return "projectslug-" + slug }

// ProjectNameStream reserves a project name, compared without case (see NameKey).
func ProjectNameStream(name string) string { return "projectname-" + NameKey(name) }
