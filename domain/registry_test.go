package domain_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/mediciasafely/jobserver/domain"
)

var writeMissingGolden = flag.Bool("write-missing-golden", false, "write testdata/events files for event types that have none (never overwrites)")

var sampleTime = time.Date(2026, 11, 24, 19, 6, 0, 0, time.UTC)

var sampleResearcher = domain.Researcher{ResearcherID: "01J0RESEARCHER000000000001", Name: "Grace Hopper", JobTitle: "Statistician",
	Email: "grace@example.org", GitHubUsername: "grace-hopper", NeedsServerAccess: true, Phone: "+44 7700 900000", PhoneType: "mobile",
	HasSafeResearcherTraining: true, TrainingWithOrg: "ONS", TrainingPassedAt: "2026-01-15"}

var samplePerson = domain.NewPersonal("01J0USER000000000000000001",
	domain.Person{Name: "Ada Lovelace", Email: "ada@example.org", Phone: "+44 20 7946 0000", JobTitle: "Research fellow"})

// eventSamples holds one sample of every registered event type, with every field set.
var eventSamples = []domain.Event{
	domain.UserRegistered{UserID: "01J0USER000000000000000001", Profile: domain.NewPersonal("01J0USER000000000000000001",
		domain.GitHubProfile{ID: 583231, Login: "octocat", Name: "The Octocat", Email: "octocat@example.org", AvatarURL: "https://avatars.githubusercontent.com/u/583231"})},
	domain.UserProfileUpdated{UserID: "01J0USER000000000000000001", Profile: domain.NewPersonal("01J0USER000000000000000001",
		domain.GitHubProfile{ID: 583231, Login: "octocat", Name: "Mona Octocat", Email: "mona@example.org", AvatarURL: "https://avatars.githubusercontent.com/u/583231?v=4"})},
	domain.NotificationEmailChanged{UserID: "01J0USER000000000000000001", Email: domain.NewPersonal("01J0USER000000000000000001", "mona@work.example.org")},
	domain.PersonForgotten{UserID: "01J0USER000000000000000001", Subjects: []string{"01J0USER000000000000000001", "01J0RESEARCHER000000000001"}},
	domain.GlobalRoleGranted{UserID: "01J0USER000000000000000001", Role: domain.CoreDeveloper},
	domain.GlobalRoleRevoked{UserID: "01J0USER000000000000000001", Role: domain.OutputChecker},
	domain.AdminRosterJoined{UserID: "01J0USER000000000000000001"},
	domain.AdminRosterLeft{UserID: "01J0USER000000000000000001"},
	domain.GitHubTokenSaved{UserID: "01J0USER000000000000000001", Fingerprint: "3f9a1c2e"},
	domain.GitHubTokenCleared{UserID: "01J0USER000000000000000001"},
	domain.ApplicationStarted{ApplicationID: "01J0APPLICATION00000000001", By: "01J0USER000000000000000001", TermsAccepted: true},
	domain.ApplicationPageSaved{ApplicationID: "01J0APPLICATION00000000001", Page: "contact-details",
		Answers: domain.Answers{"team_name": "Renal epidemiology", "organisation": "University of Example"},
		Person:  &samplePerson},
	domain.ApplicationResearcherAdded{ApplicationID: "01J0APPLICATION00000000001", ResearcherID: sampleResearcher.ResearcherID,
		Researcher: domain.NewPersonal(sampleResearcher.ResearcherID, sampleResearcher)},
	domain.ApplicationResearcherEdited{ApplicationID: "01J0APPLICATION00000000001", ResearcherID: sampleResearcher.ResearcherID,
		Researcher: domain.NewPersonal(sampleResearcher.ResearcherID, sampleResearcher)},
	domain.ApplicationResearcherRemoved{ApplicationID: "01J0APPLICATION00000000001", ResearcherID: "01J0RESEARCHER000000000001"},
	domain.ApplicationSubmitted{ApplicationID: "01J0APPLICATION00000000001", By: "01J0USER000000000000000001"},
	domain.ApplicationWithdrawn{ApplicationID: "01J0APPLICATION00000000001", By: "01J0USER000000000000000001"},
	domain.ApplicationRestored{ApplicationID: "01J0APPLICATION00000000001", By: "01J0USER000000000000000001"},
	domain.ApplicationPageReviewed{ApplicationID: "01J0APPLICATION00000000001", Page: "study-information", Notes: "Please say which outcomes.", Approval: domain.ReviewNotApproved, By: "01J0USER000000000000000002"},
	domain.ApplicationStatusSet{ApplicationID: "01J0APPLICATION00000000001", Status: domain.StatusApprovedSubjectTo, Comment: "Subject to REC approval.", By: "01J0USER000000000000000002"},
	domain.ApplicationApproved{ApplicationID: "01J0APPLICATION00000000001", ProjectID: "01J0PROJECT000000000000001", ProjectName: "MyStudy", OrgID: "01J0ORG0000000000000000001", By: "01J0USER000000000000000002"},
	domain.WorkspaceCreated{WorkspaceID: "01J0WORKSPACE0000000000001", ProjectID: "01J0PROJECT000000000000001", Name: "project2workspace", RepoURL: "https://github.com/mediciasafely/demo-study", Branch: "main", CreatedBy: "01J0USER000000000000000001", Notify: true},
	domain.WorkspaceArchived{WorkspaceID: "01J0WORKSPACE0000000000001"},
	domain.WorkspaceUnarchived{WorkspaceID: "01J0WORKSPACE0000000000001"},
	domain.WorkspaceNotificationsChanged{WorkspaceID: "01J0WORKSPACE0000000000001", Notify: false},
	domain.JobRequested{JobRequestID: "abcdefghijklmnop", WorkspaceID: "01J0WORKSPACE0000000000001", ProjectID: "01J0PROJECT000000000000001", BackendID: "01J0BACKEND000000000000001", SHA: "0123456789abcdef0123456789abcdef01234567", RequestedActions: []string{"generate_dataset", "analyse"}, ForceRunDependencies: true, WillNotify: true, ProjectDefinition: "version: '4.0'\n", RequestedBy: "01J0USER000000000000000001", DatabaseName: "default", CodelistsOK: true},
	domain.JobStatusChanged{JobRequestID: "abcdefghijklmnop", JobID: "rfzajqkfrp766yxc", Action: "generate_dataset", RunCommand: "ehrql:v1 generate-dataset analysis/dataset_definition.py --output output/dataset.csv.gz", Status: "succeeded", StatusCode: "succeeded", StatusMessage: "Completed successfully", CreatedAt: time.Date(2026, 11, 24, 19, 4, 38, 0, time.UTC), UpdatedAt: &sampleTime, StartedAt: &sampleTime, CompletedAt: &sampleTime, TraceContext: map[string]any{"traceparent": "00-c4eb9fa80fdfb7ffd6fd46b96783ab1b-9bd8baaad76c3fcb-01"}, Metrics: map[string]any{"cpu_mean": 12.5, "mem_mb_peak": float64(1200), "container_id": "os-job-rfzajqkfrp766yxc"}, Finished: true},
	domain.JobsRemoved{JobRequestID: "abcdefghijklmnop", JobIDs: []string{"itq647utyj25vrhv"}},
	domain.BackendFlagChanged{BackendID: "01J0BACKEND000000000000001", Flag: "paused", Value: "true", SetAt: time.Date(2026, 11, 24, 19, 5, 14, 705266000, time.UTC)},
	domain.JobActionsCancelled{JobRequestID: "abcdefghijklmnop", Actions: []string{"analyse"}, CancelledBy: "01J0USER000000000000000001"},
	domain.GitHubAccountLinked{UserID: domain.NewPersonal("githubuser-5d41402abc4b2a76b9719d911017c592", "01J0USER000000000000000001")},
	domain.SlugReserved{Kind: domain.ReservedForOrg, Slug: "mediciaaiorg2", OwnerID: "01J0ORG0000000000000000001"},
	domain.NameReserved{Kind: domain.ReservedForProject, Name: "My Study", OwnerID: "01J0PROJECT000000000000001"},
	domain.NameReleased{Kind: domain.ReservedForProject, Name: "My Study", OwnerID: "01J0PROJECT000000000000001"},
	domain.ReservationAbandoned{Reservation: "orgslug-mediciaaiorg2", OwnerID: "01J0ORG0000000000000000001"},
	domain.BackendCreated{BackendID: "01J0BACKEND000000000000001", Slug: "rcdemo2", Name: "RC Demo 2"},
	domain.RunnerTokenRotated{BackendID: "01J0BACKEND000000000000001"},
	domain.BackendProtocolSet{BackendID: "01J0BACKEND000000000000001", Protocol: "rap", ControllerURL: "https://controller.example.org/controller/v1/", ClientTokenSet: true},
	domain.JobCreationRecorded{JobRequestID: "abcdefghijklmnop", Status: "failed", Message: "Could not find branch 'main'", Attempts: 2},
	domain.BackendMemberAdded{BackendID: "01J0BACKEND000000000000001", UserID: "01J0USER000000000000000001"},
	domain.BackendMemberRemoved{BackendID: "01J0BACKEND000000000000001", UserID: "01J0USER000000000000000001"},
	domain.OrgCreated{OrgID: "01J0ORG0000000000000000001", Slug: "mediciaaiorg2", Name: "MediciaAIOrg2"},
	domain.OrgMemberAdded{OrgID: "01J0ORG0000000000000000001", UserID: "01J0USER000000000000000001"},
	domain.OrgMemberRemoved{OrgID: "01J0ORG0000000000000000001", UserID: "01J0USER000000000000000001"},
	domain.ProjectCreated{ProjectID: "01J0PROJECT000000000000001", Slug: "mystudy", Name: "MyStudy", OrgID: "01J0ORG0000000000000000001"},
	domain.ProjectAddedToOrg{ProjectID: "01J0PROJECT000000000000001", OrgID: "01J0ORG0000000000000000001"},
	domain.ProjectRenamed{ProjectID: "01J0PROJECT000000000000001", Name: "Our Study"},
	domain.ProjectMemberAdded{ProjectID: "01J0PROJECT000000000000001", UserID: "01J0USER000000000000000001", Roles: []domain.Role{domain.ProjectCoordinator, domain.ProjectDeveloper}},
	domain.ProjectMemberRolesChanged{ProjectID: "01J0PROJECT000000000000001", UserID: "01J0USER000000000000000001", Roles: []domain.Role{domain.ProjectCollaborator}},
	domain.ProjectMemberRemoved{ProjectID: "01J0PROJECT000000000000001", UserID: "01J0USER000000000000000001"},
	domain.ReleaseCreated{ReleaseID: "01J0RELEASE000000000000001", WorkspaceID: "01J0WORKSPACE0000000000001", ProjectID: "01J0PROJECT000000000000001",
		BackendID: "01J0BACKEND000000000000001", CreatedBy: "01J0USER000000000000000001",
		Files: []domain.ReleaseFileRequest{{FileID: "01J0FILE000000000000000001", Name: "output/table.csv", URL: "output/table.csv", Size: 1234,
			SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", Date: time.Date(2026, 11, 24, 10, 0, 0, 123456000, time.UTC),
			Metadata: map[string]any{"tool": "airlock", "airlock_id": "01J0RELEASE000000000000001"}, Review: map[string]any{"status": "APPROVED"}}},
		Metadata: map[string]any{"tool": "airlock", "airlock_id": "01J0RELEASE000000000000001"}, Review: map[string]any{"comments": map[string]any{}}},
	domain.ReleaseFileUploaded{ReleaseID: "01J0RELEASE000000000000001", FileID: "01J0FILE000000000000000001", Name: "output/table.csv",
		SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", Size: 1234, UploadedBy: "01J0USER000000000000000001", BackendID: "01J0BACKEND000000000000001"},
	domain.ReleaseFileDeleted{ReleaseID: "01J0RELEASE000000000000001", FileID: "01J0FILE000000000000000001", Name: "output/table.csv",
		SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", DeletedBy: "01J0USER000000000000000001", Reason: "Small numbers in row 3"},
	domain.BlobReferenced{SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", ReleaseID: "01J0RELEASE000000000000001", FileID: "01J0FILE000000000000000001", Size: 1234},
	domain.BlobReleased{SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", ReleaseID: "01J0RELEASE000000000000001", FileID: "01J0FILE000000000000000001"},
	domain.BlobRemovalStarted{SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
	domain.BlobRemoved{SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
}

// sampleEvents is the registry with keys that "seal" personal data as its subject and plaintext, so that
// the golden files are stable and show what is inside.
var sampleEvents = domain.Events.WithKeys(visibleKeys{})

type visibleKeys struct{}

func (visibleKeys) SealPersonal(subject string, plaintext []byte) ([]byte, error) {
	return append([]byte(subject+"\x00"), plaintext...), nil
}

func (visibleKeys) OpenPersonal(sealed []byte) ([]byte, string, bool, error) {
	subject, plaintext, _ := bytes.Cut(sealed, []byte{0})
	return plaintext, string(subject), false, nil
}

// refusedVersions are old schema versions that must not decode: they held personal data in plaintext.
var refusedVersions = map[string]bool{
	"UserRegistered.v1": true, "UserProfileUpdated.v1": true, "NotificationEmailChanged.v1": true, "GitHubAccountLinked.v1": true,
	"ApplicationPageSaved.v1": true, "ApplicationResearcherAdded.v1": true, "ApplicationResearcherEdited.v1": true,
}

// TestEventJSONShapesAreStable compares the JSON of every event type with its golden file in testdata/events.
//
// Stored events keep the shape they were written with, forever. If this test fails because you changed an
// event's fields (renamed, removed, retyped or added one), do NOT edit the golden file to make it pass:
//  1. rename testdata/events/<Type>.json to <Type>.v<old version>.json (it is now an old version's sample);
//  2. register the event in registry.go with an upcaster, Type[E](upcastV1toV2), that turns the old JSON
//     object into the new one, which bumps its schema version;
//  3. write the new <Type>.json (go test ./domain -run TestEventJSONShapesAreStable -write-missing-golden).
//
// This test then also checks that every old-version sample decodes, through the upcasters, into the sample.
// A new event type needs a sample in eventSamples and a golden file (written with -write-missing-golden).
func TestEventJSONShapesAreStable(t *testing.T) {
	t.Parallel()
	names := domain.Events.Names()
	slices.Sort(names)
	samples := map[string]domain.Event{}
	for _, e := range eventSamples {
		samples[e.EventType()] = e
	}
	for _, name := range names {
		if _, ok := samples[name]; !ok {
			t.Errorf("event type %s has no sample in eventSamples", name)
		}
	}
	for name := range samples {
		if !slices.Contains(names, name) {
			t.Errorf("sample %s is not registered in domain.Events", name)
		}
	}

	for _, name := range names {
		sample, ok := samples[name]
		if !ok {
			continue
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			gotName, version, data, err := sampleEvents.Encode(sample)
			if err != nil || gotName != name {
				t.Fatalf("Encode: %q, %v", gotName, err)
			}
			path := filepath.Join("testdata", "events", name+".json")
			golden, err := os.ReadFile(path)
			if os.IsNotExist(err) && *writeMissingGolden {
				var pretty bytes.Buffer
				if err := json.Indent(&pretty, data, "", "  "); err != nil {
					t.Fatal(err)
				}
				pretty.WriteByte('\n')
				if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				t.Logf("wrote %s", path)
				return
			}
			if err != nil {
				t.Fatalf("%v (new event type? run with -write-missing-golden)", err)
			}
			var want, got any
			if err := json.Unmarshal(golden, &want); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if err := json.Unmarshal(data, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("the JSON of %s changed shape; add a schema version and an upcaster instead (see this test's comment)\n got: %s\nwant: %s", name, data, bytes.TrimSpace(golden))
			}
			decoded, err := sampleEvents.Decode(name, version, golden)
			if err != nil {
				t.Fatalf("decode %s: %v", path, err)
			}
			if !reflect.DeepEqual(decoded, sample) {
				t.Fatalf("%s decodes to %#v, want %#v", path, decoded, sample)
			}
		})
	}
}

// TestOldEventVersionsUpcastToTodaysSample decodes every old-version golden file (<Type>.v<N>.json).
func TestOldEventVersionsUpcastToTodaysSample(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "events", "*.v*.json"))
	if err != nil {
		t.Fatal(err)
	}
	samples := map[string]domain.Event{}
	for _, e := range eventSamples {
		samples[e.EventType()] = e
	}
	pattern := regexp.MustCompile(`^(\w+)\.v(\d+)\.json$`)
	for _, path := range files {
		m := pattern.FindStringSubmatch(filepath.Base(path))
		if m == nil {
			t.Errorf("%s: name is not <Type>.v<N>.json", path)
			continue
		}
		version, _ := strconv.Atoi(m[2])
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		decoded, err := sampleEvents.Decode(m[1], version, data)
		if refusedVersions[m[1]+".v"+m[2]] {
			if err == nil {
				t.Errorf("%s decoded; this version must be refused", path)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		if !reflect.DeepEqual(decoded, samples[m[1]]) {
			t.Errorf("%s upcasts to %#v, want today's sample %#v", path, decoded, samples[m[1]])
		}
	}
}
