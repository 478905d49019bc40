package workspaces

// WorkspacesProjector is the name of the projector behind the pages of workspaces, Run Jobs and the
// workspace logs, for the forms that wait for it after a command. It writes the tables workspaces,
// workspace_job_requests and its own copies of the names they show: workspace_people, workspace_orgs,
// workspace_projects, workspace_project_members and workspace_backends.
const WorkspacesProjector = "workspaces"
