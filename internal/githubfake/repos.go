package githubfake

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
)

// Repository is a repository on the fake GitHub; its commits come from Push.
type Repository struct {
	Owner string // a user's login or an organisation's name
	Name  string
	// Private repositories are visible only to their owner and collaborators; others get 404, as on
	// GitHub.
	Private       bool
	Collaborators []string // logins
	// DefaultBranch is the branch GitHub shows first; "" means main.
	DefaultBranch string
	Description   string
}

// FullName is owner/name.
func (r Repository) FullName() string { return r.Owner + "/" + r.Name }

type repository struct {
	Repository
	id       int64
	created  time.Time
	pushed   time.Time
	branches map[string]string  // name → head commit sha
	commits  map[string]*commit // by sha
}

type commit struct {
	sha     string
	tree    string // sha
	parents []string
	message string
	author  string // login
	date    time.Time
	files   map[string][]byte // the whole tree, by path
}

var (
	namePattern = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$`)
	repoPattern = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
)

// AddRepository creates a repository with no commits, or changes the settings of an existing one (to make
// it private, say), keeping its branches.
func (s *Server) AddRepository(r Repository) {
	if !namePattern.MatchString(r.Owner) || !repoPattern.MatchString(r.Name) || r.Name == "." || r.Name == ".." {
		panic(fmt.Sprintf("githubfake: %q is not a repository name GitHub allows", r.FullName()))
	}
	if r.DefaultBranch == "" {
		r.DefaultBranch = "main"
	}
	r.Collaborators = slices.Clone(r.Collaborators)
	s.mu.Lock()
	defer s.mu.Unlock()
	if existing, ok := s.repos[strings.ToLower(r.FullName())]; ok {
		existing.Repository = r
		return
	}
	s.nextID++
	now := time.Now().UTC()
	s.repos[strings.ToLower(r.FullName())] = &repository{
		Repository: r, id: 700000000 + s.nextID, created: now, pushed: now,
		branches: map[string]string{}, commits: map[string]*commit{},
	}
}

// DeleteRepository deletes a repository: the API answers 404 for it from now on.
func (s *Server) DeleteRepository(fullName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.repos, strings.ToLower(fullName))
}

// Push commits files, the whole tree of the new commit by path, on top of branch (creating the branch
// if it is new) and returns the new commit's sha. The repository must exist.
func (s *Server) Push(fullName, branch, message string, files map[string]string) string {
	if branch == "" || strings.HasPrefix(branch, "/") || strings.HasSuffix(branch, "/") || strings.Contains(branch, "..") {
		panic(fmt.Sprintf("githubfake: %q is not a branch name git allows", branch))
	}
	tree := make(map[string][]byte, len(files))
	for p, content := range files {
		if p == "" || path.Clean(p) != p || strings.HasPrefix(p, "/") || strings.HasPrefix(p, "../") {
			panic(fmt.Sprintf("githubfake: %q is not a path in a repository", p))
		}
		tree[p] = []byte(content)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	repo, ok := s.repos[strings.ToLower(fullName)]
	if !ok {
		panic(fmt.Sprintf("githubfake: push to %s, which does not exist", fullName))
	}
	c := &commit{tree: treeSHA(tree), message: message, author: repo.Owner, date: time.Now().UTC(), files: tree}
	if parent, ok := repo.branches[branch]; ok {
		c.parents = []string{parent}
	}
	c.sha = gitSHA("commit", fmt.Sprintf("tree %s\nparent %s\nauthor %s %d\n\n%s\n%s",
		c.tree, strings.Join(c.parents, " "), c.author, c.date.UnixNano(), message, randomHex(4)))
	repo.commits[c.sha] = c
	repo.branches[branch] = c.sha
	repo.pushed = c.date
	return c.sha
}

// DeleteBranch deletes a branch; its commits stay readable by sha, as on GitHub.
func (s *Server) DeleteBranch(fullName, branch string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if repo, ok := s.repos[strings.ToLower(fullName)]; ok {
		delete(repo.branches, branch)
	}
}

// visibleRepository finds the repository named in the request's path if u may see it: a copy of what
// the handler needs, taken under the lock. It answers 404 otherwise (403 if its owner requires SSO) and
// reports false.
func (s *Server) visibleRepository(w http.ResponseWriter, r *http.Request, u User, docs string) (repository, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failures.sso[strings.ToLower(r.PathValue("owner"))] {
		w.Header().Set("X-GitHub-SSO", "required; url="+s.webURL("orgs/%s/sso?authorization_request=%s", r.PathValue("owner"), randomHex(8)))
		writeJSON(w, http.StatusForbidden, apiErrorDocumented(
			"Resource protected by organization SAML enforcement. You must grant your Personal Access token access to this organization.",
			"https://docs.github.com/articles/authenticating-to-a-github-organization-with-saml-single-sign-on/"))
		return repository{}, false
	}
	repo, ok := s.repos[strings.ToLower(r.PathValue("owner")+"/"+r.PathValue("repo"))]
	if !ok || (repo.Private && !strings.EqualFold(repo.Owner, u.Login) &&
		!slices.ContainsFunc(repo.Collaborators, func(l string) bool { return strings.EqualFold(l, u.Login) })) {
		writeJSON(w, http.StatusNotFound, apiErrorDocumented("Not Found", docs))
		return repository{}, false
	}
	copied := *repo
	copied.branches = maps.Clone(repo.branches)
	copied.commits = maps.Clone(repo.commits) // commits are never changed once made
	return copied, true
}

func (s *Server) apiURL(format string, args ...any) string {
	return s.APIURL() + fmt.Sprintf(format, args...)
}

func (s *Server) webURL(format string, args ...any) string {
	return s.URL + "/" + fmt.Sprintf(format, args...)
}

// account is the short form of a user or organisation that GitHub nests in other objects.
func (s *Server) account(login string) map[string]any {
	s.mu.Lock()
	var id int64
	kind := "Organization"
	for _, u := range s.users {
		if strings.EqualFold(u.Login, login) {
			id, kind, login = u.ID, "User", u.Login
		}
	}
	s.mu.Unlock()
	if id == 0 {
		id = 9000000 + int64(len(login)) // stable enough for a fake organisation
	}
	return map[string]any{
		"login": login, "id": id, "node_id": nodeID("U", id), "avatar_url": s.webURL("%s.png", login),
		"url": s.apiURL("users/%s", login), "html_url": s.webURL("%s", login), "type": kind, "site_admin": false,
	}
}

func (s *Server) repository(w http.ResponseWriter, r *http.Request, u User, _ grant) {
	repo, ok := s.visibleRepository(w, r, u, "https://docs.github.com/rest/repos/repos#get-a-repository")
	if !ok {
		return
	}
	full := repo.FullName()
	visibility := "public"
	if repo.Private {
		visibility = "private"
	}
	isOwner := strings.EqualFold(repo.Owner, u.Login)
	collaborates := isOwner || slices.ContainsFunc(repo.Collaborators, func(l string) bool { return strings.EqualFold(l, u.Login) })
	writeJSON(w, http.StatusOK, map[string]any{
		"id": repo.id, "node_id": nodeID("R", repo.id), "name": repo.Name, "full_name": full,
		"private": repo.Private, "visibility": visibility, "owner": s.account(repo.Owner),
		"html_url": s.webURL("%s", full), "description": nullable(repo.Description), "fork": false,
		"url":          s.apiURL("repos/%s", full),
		"branches_url": s.apiURL("repos/%s/branches{/branch}", full),
		"contents_url": s.apiURL("repos/%s/contents/{+path}", full),
		"git_url":      strings.Replace(s.webURL("%s.git", full), "http", "git", 1),
		"clone_url":    s.webURL("%s.git", full),
		"homepage":     nil, "size": 0, "language": "Python", "topics": []string{},
		"has_issues": true, "archived": false, "disabled": false, "is_template": false,
		"stargazers_count": 0, "watchers_count": 0, "forks_count": 0, "open_issues_count": 0,
		"default_branch": repo.DefaultBranch,
		"created_at":     repo.created.Format(time.RFC3339), "updated_at": repo.pushed.Format(time.RFC3339),
		"pushed_at": repo.pushed.Format(time.RFC3339),
		"permissions": map[string]bool{
			"admin": isOwner, "maintain": isOwner, "push": collaborates, "triage": collaborates, "pull": true,
		},
	})
}

func (s *Server) branch(w http.ResponseWriter, r *http.Request, u User, _ grant) {
	docs := "https://docs.github.com/rest/branches/branches#get-a-branch"
	repo, ok := s.visibleRepository(w, r, u, docs)
	if !ok {
		return
	}
	name := r.PathValue("branch")
	sha, ok := repo.branches[name]
	if !ok {
		writeJSON(w, http.StatusNotFound, apiErrorDocumented("Branch not found", docs))
		return
	}
	full := repo.FullName()
	writeJSON(w, http.StatusOK, map[string]any{
		"name":   name,
		"commit": s.commitJSON(full, repo.commits[sha]),
		"_links": map[string]string{
			"self": s.apiURL("repos/%s/branches/%s", full, url.PathEscape(name)),
			"html": s.webURL("%s/tree/%s", full, name),
		},
		"protected": false,
		"protection": map[string]any{
			"enabled":                false,
			"required_status_checks": map[string]any{"enforcement_level": "off", "contexts": []string{}, "checks": []string{}},
		},
		"protection_url": s.apiURL("repos/%s/branches/%s/protection", full, url.PathEscape(name)),
	})
}

func (s *Server) commitJSON(full string, c *commit) map[string]any {
	signature := map[string]string{"name": c.author, "email": c.author + "@users.noreply.example", "date": c.date.Format(time.RFC3339)}
	parents := make([]map[string]string, 0, len(c.parents))
	for _, p := range c.parents {
		parents = append(parents, map[string]string{
			"sha": p, "url": s.apiURL("repos/%s/commits/%s", full, p), "html_url": s.webURL("%s/commit/%s", full, p),
		})
	}
	author := s.account(c.author)
	return map[string]any{
		"sha": c.sha, "node_id": "C_" + c.sha[:20],
		"commit": map[string]any{
			"author": signature, "committer": signature, "message": c.message,
			"tree":          map[string]string{"sha": c.tree, "url": s.apiURL("repos/%s/git/trees/%s", full, c.tree)},
			"url":           s.apiURL("repos/%s/git/commits/%s", full, c.sha),
			"comment_count": 0,
			"verification":  map[string]any{"verified": false, "reason": "unsigned", "signature": nil, "payload": nil},
		},
		"url":          s.apiURL("repos/%s/commits/%s", full, c.sha),
		"html_url":     s.webURL("%s/commit/%s", full, c.sha),
		"comments_url": s.apiURL("repos/%s/commits/%s/comments", full, c.sha),
		"author":       author, "committer": author, "parents": parents,
	}
}

// contents answers GET /repos/{owner}/{repo}/contents/{path}?ref=: a file as base64 JSON (or raw bytes
// when the Accept header asks for application/vnd.github.raw), a directory as a list of its entries.
func (s *Server) contents(w http.ResponseWriter, r *http.Request, u User, _ grant) {
	docs := "https://docs.github.com/rest/repos/contents#get-repository-content"
	repo, ok := s.visibleRepository(w, r, u, docs)
	if !ok {
		return
	}
	if len(repo.commits) == 0 {
		writeJSON(w, http.StatusNotFound, apiErrorDocumented("This repository is empty.", docs))
		return
	}
	ref := r.URL.Query().Get("ref")
	if ref == "" {
		ref = repo.DefaultBranch
	}
	c := resolve(repo, ref)
	if c == nil {
		writeJSON(w, http.StatusNotFound, apiErrorDocumented("No commit found for the ref "+ref, docs))
		return
	}
	full := repo.FullName()
	p := strings.Trim(r.PathValue("path"), "/")
	if content, ok := c.files[p]; ok {
		if accept := r.Header.Get("Accept"); strings.Contains(accept, "application/vnd.github.raw") ||
			strings.Contains(accept, "application/vnd.github.v3.raw") {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(content)
			return
		}
		entry := s.entry(full, ref, "file", p, gitSHA("blob", string(content)), len(content))
		entry["encoding"] = "base64"
		entry["content"] = wrappedBase64(content)
		writeJSON(w, http.StatusOK, entry)
		return
	}
	entries := directory(c.files, p)
	if len(entries) == 0 {
		writeJSON(w, http.StatusNotFound, apiErrorDocumented("Not Found", docs))
		return
	}
	list := make([]map[string]any, 0, len(entries))
	for _, e := range entries {
		if content, isFile := c.files[e]; isFile {
			list = append(list, s.entry(full, ref, "file", e, gitSHA("blob", string(content)), len(content)))
		} else {
			list = append(list, s.entry(full, ref, "dir", e, treeSHA(subtree(c.files, e)), 0))
		}
	}
	writeJSON(w, http.StatusOK, list)
}

// entry is a file's or directory's description in the contents API.
func (s *Server) entry(full, ref, kind, p, sha string, size int) map[string]any {
	self := s.apiURL("repos/%s/contents/%s?ref=%s", full, p, url.QueryEscape(ref))
	git := s.apiURL("repos/%s/git/blobs/%s", full, sha)
	html := s.webURL("%s/blob/%s/%s", full, ref, p)
	var download any = s.webURL("%s/raw/%s/%s", full, ref, p)
	if kind == "dir" {
		git = s.apiURL("repos/%s/git/trees/%s", full, sha)
		html = s.webURL("%s/tree/%s/%s", full, ref, p)
		download = nil
	}
	return map[string]any{
		"type": kind, "size": size, "name": path.Base(p), "path": p, "sha": sha,
		"url": self, "git_url": git, "html_url": html, "download_url": download,
		"_links": map[string]string{"self": self, "git": git, "html": html},
	}
}

// resolve finds the commit a ref names: a branch, refs/heads/<branch>, or a full commit sha.
func resolve(repo repository, ref string) *commit {
	if sha, ok := repo.branches[strings.TrimPrefix(ref, "refs/heads/")]; ok {
		return repo.commits[sha]
	}
	return repo.commits[strings.ToLower(ref)]
}

// directory lists the paths of the entries directly inside dir ("" is the root), sorted.
func directory(files map[string][]byte, dir string) []string {
	prefix := ""
	if dir != "" {
		prefix = dir + "/"
	}
	seen := map[string]bool{}
	for p := range files {
		rest, ok := strings.CutPrefix(p, prefix)
		if !ok {
			continue
		}
		first, _, _ := strings.Cut(rest, "/")
		seen[prefix+first] = true
	}
	entries := make([]string, 0, len(seen))
	for e := range seen {
		entries = append(entries, e)
	}
	sort.Strings(entries)
	return entries
}

func subtree(files map[string][]byte, dir string) map[string][]byte {
	sub := map[string][]byte{}
	for p, content := range files {
		if rest, ok := strings.CutPrefix(p, dir+"/"); ok {
			sub[rest] = content
		}
	}
	return sub
}

// gitSHA is the id git gives an object: the SHA-1 of its type, size and content.
func gitSHA(kind, content string) string {
	h := sha1.New()
	fmt.Fprintf(h, "%s %d\x00%s", kind, len(content), content)
	return hex.EncodeToString(h.Sum(nil))
}

// treeSHA is a stable id for a tree: not git's own encoding, but unique to the paths and contents.
func treeSHA(files map[string][]byte) string {
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var b strings.Builder
	for _, p := range paths {
		fmt.Fprintf(&b, "100644 %s\x00%s\n", p, gitSHA("blob", string(files[p])))
	}
	return gitSHA("tree", b.String())
}

// wrappedBase64 encodes content as GitHub does in the contents API: base64 in lines of 60 characters,
// each ending in a newline.
func wrappedBase64(content []byte) string {
	encoded := base64.StdEncoding.EncodeToString(content)
	var b strings.Builder
	for len(encoded) > 60 {
		b.WriteString(encoded[:60])
		b.WriteByte('\n')
		encoded = encoded[60:]
	}
	b.WriteString(encoded)
	b.WriteByte('\n')
	return b.String()
}

func nodeID(prefix string, id int64) string {
	return prefix + "_" + base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprint(id)))
}
