// Package identity holds the use cases of identity and access: logins, global roles, backends,
// organisations, projects and their members.
package identity

import (
	"github.com/mediciasafely/jobserver/commands"
)

// Commands is every identity and access use case, each decorated once. main builds it and hands it to the
// pages and the command line.
type Commands struct {
	SignInWithGitHub         commands.Handler[SignInWithGitHub, SignedIn]
	ChangeNotificationEmail  commands.Handler[ChangeNotificationEmail, commands.Result]
	SetGlobalRoles           commands.Handler[SetGlobalRoles, commands.Result]
	GrantGlobalRole          commands.Handler[GrantGlobalRole, commands.Result]
	RevokeGlobalRole         commands.Handler[RevokeGlobalRole, commands.Result]
	ForgetUser               commands.Handler[ForgetUser, commands.Result]
	CreateBackend            commands.Handler[CreateBackend, NewBackend]
	RotateRunnerToken        commands.Handler[RotateRunnerToken, NewRunnerToken]
	AddBackendMember         commands.Handler[AddBackendMember, commands.Result]
	RemoveBackendMember      commands.Handler[RemoveBackendMember, commands.Result]
	CreateOrg                commands.Handler[CreateOrg, Created]
	AddOrgMember             commands.Handler[AddOrgMember, commands.Result]
	RemoveOrgMember          commands.Handler[RemoveOrgMember, commands.Result]
	CreateProject            commands.Handler[CreateProject, Created]
	AddProjectToOrg          commands.Handler[AddProjectToOrg, commands.Result]
	AddProjectMember         commands.Handler[AddProjectMember, commands.Result]
	ChangeProjectMemberRoles commands.Handler[ChangeProjectMemberRoles, commands.Result]
	RemoveProjectMember      commands.Handler[RemoveProjectMember, commands.Result]
	RenameProject            commands.Handler[RenameProject, commands.Result]
}

// New builds every identity and access use case on the kit's event log.
func New(k commands.Kit) *Commands {
	h := handlers{log: k.Log}
	return &Commands{
		SignInWithGitHub:         commands.NewHandler(k, "SignInWithGitHub", h.signInWithGitHub),
		ChangeNotificationEmail:  commands.NewHandler(k, "ChangeNotificationEmail", h.changeNotificationEmail),
		SetGlobalRoles:           commands.NewHandler(k, "SetGlobalRoles", h.setGlobalRoles),
		GrantGlobalRole:          commands.NewHandler(k, "GrantGlobalRole", h.grantGlobalRole),
		RevokeGlobalRole:         commands.NewHandler(k, "RevokeGlobalRole", h.revokeGlobalRole),
		ForgetUser:               commands.NewHandler(k, "ForgetUser", h.forgetUser),
		CreateBackend:            commands.NewHandler(k, "CreateBackend", h.createBackend),
		RotateRunnerToken:        commands.NewHandler(k, "RotateRunnerToken", h.rotateRunnerToken),
		AddBackendMember:         commands.NewHandler(k, "AddBackendMember", h.addBackendMember),
		RemoveBackendMember:      commands.NewHandler(k, "RemoveBackendMember", h.removeBackendMember),
		CreateOrg:                commands.NewHandler(k, "CreateOrg", h.createOrg),
		AddOrgMember:             commands.NewHandler(k, "AddOrgMember", h.addOrgMember),
		RemoveOrgMember:          commands.NewHandler(k, "RemoveOrgMember", h.removeOrgMember),
		CreateProject:            commands.NewHandler(k, "CreateProject", h.createProject),
		AddProjectToOrg:          commands.NewHandler(k, "AddProjectToOrg", h.addProjectToOrg),
		AddProjectMember:         commands.NewHandler(k, "AddProjectMember", h.addProjectMember),
		ChangeProjectMemberRoles: commands.NewHandler(k, "ChangeProjectMemberRoles", h.changeProjectMemberRoles),
		RemoveProjectMember:      commands.NewHandler(k, "RemoveProjectMember", h.removeProjectMember),
		RenameProject:            commands.NewHandler(k, "RenameProject", h.renameProject),
	}
}

// handlers holds what the use cases share: the event log.
type handlers struct {
	log *commands.EventLog
}

// Created is a created organisation or project.
type Created struct {
	ID   string
	Slug string
	commands.Result
}
