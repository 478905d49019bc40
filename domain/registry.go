package domain

// Events registers every event type of the domain with its current schema version. An event whose shape
// changes gets upcasters here (Type[E](upcastV1toV2, ...)), never a silent edit; the golden files in
// testdata/events catch silent edits.
var Events = NewRegistry(
	// Users and the GitHub accounts they registered with.
	Type[UserRegistered](plaintextPersonalData),
	Type[UserProfileUpdated](plaintextPersonalData),
	Type[NotificationEmailChanged](plaintextPersonalData),
	Type[PersonForgotten](),
	Type[GlobalRoleGranted](),
	Type[GlobalRoleRevoked](),
	Type[GitHubAccountLinked](plaintextPersonalData),
	Type[AdminRosterJoined](),
	Type[AdminRosterLeft](),
	Type[GitHubTokenSaved](),
	Type[GitHubTokenCleared](),

	// Unique slugs and names.
	Type[SlugReserved](),
	Type[NameReserved](),
	Type[NameReleased](),
	Type[ReservationAbandoned](),

	// Backends.
	Type[BackendCreated](),
	Type[RunnerTokenRotated](),
	Type[BackendProtocolSet](),
	Type[BackendMemberAdded](),
	Type[BackendMemberRemoved](),

	// Organisations.
	Type[OrgCreated](),
	Type[OrgMemberAdded](),
	Type[OrgMemberRemoved](),

	// Projects.
	Type[ProjectCreated](),
	Type[ProjectAddedToOrg](),
	Type[ProjectRenamed](),
	Type[ProjectMemberAdded](),
	Type[ProjectMemberRolesChanged](),
	Type[ProjectMemberRemoved](),

	// Study applications.
	Type[ApplicationStarted](),
	Type[ApplicationPageSaved](plaintextPersonalData),
	Type[ApplicationResearcherAdded](plaintextPersonalData),
	Type[ApplicationResearcherEdited](plaintextPersonalData),
	Type[ApplicationResearcherRemoved](),
	Type[ApplicationSubmitted](),
	Type[ApplicationWithdrawn](),
	Type[ApplicationRestored](),
	Type[ApplicationPageReviewed](),
	Type[ApplicationStatusSet](),
	Type[ApplicationApproved](),

	// Workspaces and the jobs they run.
	Type[WorkspaceCreated](),
	Type[WorkspaceArchived](),
	Type[WorkspaceUnarchived](),
	Type[WorkspaceNotificationsChanged](),
	Type[JobRequested](),
	Type[JobActionsCancelled](),
	Type[JobStatusChanged](),
	Type[JobsRemoved](),
	Type[JobCreationRecorded](),

	// What runners report about backends.
	Type[BackendFlagChanged](),

	// Released files, and the stored bytes they share.
	Type[ReleaseCreated](),
	Type[ReleaseFileUploaded](),
	Type[ReleaseFileDeleted](),
	Type[BlobReferenced](),
	Type[BlobReleased](),
	Type[BlobRemovalStarted](),
	Type[BlobRemoved](),
)
