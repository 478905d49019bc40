package commands

// Identity holds the handlers of identity and access: logins, global roles, backends, organisations,
// projects and their members. main builds it once and hands it to the HTTP handlers and the CLI.
type Identity struct {
	Access                   *Access
	SignInWithGitHub         *SignInWithGitHubHandler
	ChangeNotificationEmail  *ChangeNotificationEmailHandler
	GrantGlobalRole          *GrantGlobalRoleHandler
	RevokeGlobalRole         *RevokeGlobalRoleHandler
	CreateBackend            *CreateBackendHandler
	RotateRunnerToken        *RotateRunnerTokenHandler
	AddBackendMember         *AddBackendMemberHandler
	RemoveBackendMember      *RemoveBackendMemberHandler
	CreateOrg                *CreateOrgHandler
	AddOrgMember             *AddOrgMemberHandler
	RemoveOrgMember          *RemoveOrgMemberHandler
	CreateProject            *CreateProjectHandler
	AddProjectToOrg          *AddProjectToOrgHandler
	AddProjectMember         *AddProjectMemberHandler
	ChangeProjectMemberRoles *ChangeProjectMemberRolesHandler
	RemoveProjectMember      *RemoveProjectMemberHandler
	RenameProject            *RenameProjectHandler
}

// NewIdentity builds every identity and access handler on one event log.
func NewIdentity(log *EventLog) *Identity {
	return &Identity{
		Access:                   NewAccess(log),
		SignInWithGitHub:         NewSignInWithGitHubHandler(log),
		ChangeNotificationEmail:  NewChangeNotificationEmailHandler(log),
		GrantGlobalRole:          NewGrantGlobalRoleHandler(log),
		RevokeGlobalRole:         NewRevokeGlobalRoleHandler(log),
		CreateBackend:            NewCreateBackendHandler(log),
		RotateRunnerToken:        NewRotateRunnerTokenHandler(log),
		AddBackendMember:         NewAddBackendMemberHandler(log),
		RemoveBackendMember:      NewRemoveBackendMemberHandler(log),
		CreateOrg:                NewCreateOrgHandler(log),
		AddOrgMember:             NewAddOrgMemberHandler(log),
		RemoveOrgMember:          NewRemoveOrgMemberHandler(log),
		CreateProject:            NewCreateProjectHandler(log),
		AddProjectToOrg:          NewAddProjectToOrgHandler(log),
		AddProjectMember:         NewAddProjectMemberHandler(log),
		ChangeProjectMemberRoles: NewChangeProjectMemberRolesHandler(log),
		RemoveProjectMember:      NewRemoveProjectMemberHandler(log),
		RenameProject:            NewRenameProjectHandler(log),
	}
}
