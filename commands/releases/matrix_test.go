package releases_test

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/commands/releases"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/internal/rolematrix"
)

// matrixWorld is the world with a release Olive made of two files, one of them uploaded, and the actor
// the setup chooses: the command line, nobody, or a user with the setup's role who is a member of tpp.
type matrixWorld struct {
	*world
	actor          commands.Actor
	releaseID      string
	uploadedFile   string
	otherProjectID string
}

func newMatrixWorld(t *testing.T, who rolematrix.Setup) matrixWorld {
	t.Helper()
	ctx := context.Background()
	cli := commands.CLIActor
	w := matrixWorld{world: newWorld(t)}
	w.releaseID = w.release(t, listed("output/uploaded.csv", "up"), listed("output/waiting.csv", "wait"))
	w.uploadedFile = must(w.upload(w.releaseID, "output/uploaded.csv", "up"))(t).FileID
	w.otherProjectID = must(w.id.CreateProject.Handle(ctx, identity.CreateProject{Actor: cli, Name: "Other Study"}))(t).ID
	switch {
	case who.CLI:
		w.actor = cli
		return w
	case who.Anonymous:
		w.actor = commands.Anonymous
		return w
	}
	w.actor = w.user(t, "actor", who.Global, w.tpp)
	switch {
	case who.Project != "":
		must(w.id.AddProjectMember.Handle(ctx, identity.AddProjectMember{Actor: cli, ProjectID: w.projectID, UserID: w.actor.ActorID(), Roles: []domain.Role{who.Project}}))(t)
	case who.Other != "":
		must(w.id.AddProjectMember.Handle(ctx, identity.AddProjectMember{Actor: cli, ProjectID: w.otherProjectID, UserID: w.actor.ActorID(), Roles: []domain.Role{who.Other}}))(t)
	}
	return w
}

// matrixRunners run each use of the releases slice in rolematrix.Uses through its command, as w.actor.
func matrixRunners() map[string]func(ctx context.Context, w matrixWorld) error {
	return map[string]func(ctx context.Context, w matrixWorld) error{
		"CreateRelease": func(ctx context.Context, w matrixWorld) error {
			_, err := w.CreateRelease.Handle(ctx, releases.CreateRelease{Actor: w.actor, BackendID: w.tpp, WorkspaceName: w.workspace,
				Files: []domain.ReleaseFileRequest{listed("output/new.csv", "new")}})
			return err
		},
		"UploadReleaseFile": func(ctx context.Context, w matrixWorld) error {
			_, err := w.UploadReleaseFile.Handle(ctx, releases.UploadReleaseFile{Actor: w.actor, BackendID: w.tpp, ReleaseID: w.releaseID,
				Name: "output/waiting.csv", DeclaredSize: 4, Body: strings.NewReader("wait")})
			return err
		},
		"DeleteReleaseFile": func(ctx context.Context, w matrixWorld) error {
			_, err := w.DeleteReleaseFile.Handle(ctx, releases.DeleteReleaseFile{Actor: w.actor, ReleaseID: w.releaseID, FileID: w.uploadedFile,
				Reason: "Disclosive"})
			return err
		},
	}
}

// TestRoleMatrix runs every use of the releases slice as every kind of actor: an Output Checker who is a
// member of the backend releases files on their own behalf, and deletes them (as the command line may);
// nobody else may, whatever their role in the project, and a refusal appends nothing.
func TestRoleMatrix(t *testing.T) {
	t.Parallel()
	rolematrix.CheckCommands(t, rolematrix.Releases, matrixRunners(), newMatrixWorld,
		func(t *testing.T, w matrixWorld) int { return len(w.events(t)) })
}

// TestTheRoleMatrixHasARunnerForEveryUse: each use of the slice in the shared table runs through a
// command here.
func TestTheRoleMatrixHasARunnerForEveryUse(t *testing.T) {
	t.Parallel()
	rolematrix.CheckRunners(t, rolematrix.Releases, slices.Collect(maps.Keys(matrixRunners())), nil)
}
