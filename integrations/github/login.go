// Package github is the server's side of GitHub: "Log in with GitHub" through the OAuth web flow
// (golang.org/x/oauth2) and the REST API (go-github) for the profile of the account that authorised
// (Login), and the repositories, branches and files that workspaces and jobs are made from, read with
// the user's own token (Repos).
package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"
	"golang.org/x/oauth2"

	"github.com/mediciasafely/jobserver/domain"
)

// defaultTimeout bounds each call to GitHub, so a slow GitHub fails a login instead of hanging it.
const defaultTimeout = 10 * time.Second

// Config describes the OAuth app and where GitHub is.
type Config struct {
	ClientID     string
	ClientSecret string
	// WebURL is GitHub's web address, holding the OAuth endpoints: https://github.com, or a GitHub
	// Enterprise server.
	WebURL string
	// APIURL is the REST API's base: https://api.github.com/, or https://HOST/api/v3/ on GitHub Enterprise.
	APIURL string
	// RedirectURL is the server's callback, registered with the OAuth app: BASE_URL/login/github/callback.
	RedirectURL string
	// Timeout bounds each HTTP call to GitHub; zero means 10 seconds.
	Timeout time.Duration
	// Now is the clock Repos tells the time to retry after a rate limit by; nil means time.Now.
	Now func() time.Time
}

// Login logs people in with GitHub. It is safe for concurrent use.
type Login struct {
	oauth  *oauth2.Config
	apiURL *url.URL
	http   *http.Client
}

// NewLogin checks the configuration and returns the login.
func NewLogin(c Config) (*Login, error) {
	var problems []error
	if c.ClientID == "" || c.ClientSecret == "" {
		problems = append(problems, errors.New("the OAuth app's client id and client secret are both required"))
	}
	webURL, err := absoluteURL("web URL", c.WebURL)
	if err != nil {
		problems = append(problems, err)
	}
	apiURL, err := absoluteURL("API URL", c.APIURL)
	if err != nil {
		problems = append(problems, err)
	}
	if _, err := absoluteURL("redirect URL", c.RedirectURL); err != nil {
		problems = append(problems, err)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("github: %w", errors.Join(problems...))
	}
	// go-github resolves paths against the base URL, which therefore must end with a slash.
	if !strings.HasSuffix(apiURL.Path, "/") {
		apiURL.Path += "/"
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	web := strings.TrimRight(webURL.String(), "/")
	return &Login{
		oauth: &oauth2.Config{
			ClientID:     c.ClientID,
			ClientSecret: c.ClientSecret,
			Endpoint: oauth2.Endpoint{
				AuthURL:  web + "/login/oauth/authorize",
				TokenURL: web + "/login/oauth/access_token",
				// GitHub's documentation sends the credentials as form fields; saying so saves the
				// library a first attempt with HTTP Basic.
				AuthStyle: oauth2.AuthStyleInParams,
			},
			RedirectURL: c.RedirectURL,
			// Enough to read the profile and the private e-mail addresses: nothing of the user's code.
			Scopes: []string{"user:email"},
		},
		apiURL: apiURL,
		http:   &http.Client{Timeout: timeout},
	}, nil
}

func absoluteURL(what, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("the %s %q is not an absolute http(s) URL", what, raw)
	}
	return u, nil
}

// AuthCodeURL is where the browser goes to authorise the app; GitHub sends state back unchanged.
func (l *Login) AuthCodeURL(state string) string {
	return l.oauth.AuthCodeURL(state)
}

// Exchange trades the code GitHub returned for the profile of the user who authorised. The e-mail
// address is the profile's public one, else the primary verified address, else none.
func (l *Login) Exchange(ctx context.Context, code string) (domain.GitHubProfile, error) {
	// The oauth2 library takes its HTTP client from the context; the API client below inherits it, and
	// with it the timeout.
	ctx = context.WithValue(ctx, oauth2.HTTPClient, l.http)
	token, err := l.oauth.Exchange(ctx, code)
	if err != nil {
		return domain.GitHubProfile{}, fmt.Errorf("github: exchange the login code for a token: %w", err)
	}
	client := gh.NewClient(oauth2.NewClient(ctx, oauth2.StaticTokenSource(token)))
	client.BaseURL = l.apiURL

	user, _, err := client.Users.Get(ctx, "")
	if err != nil {
		return domain.GitHubProfile{}, fmt.Errorf("github: read the profile of the user who logged in: %w", err)
	}
	// Logins can be renamed and reused; the numeric id is the account.
	if user.GetID() == 0 {
		return domain.GitHubProfile{}, errors.New("github: the profile of the user who logged in has no id")
	}
	profile := domain.GitHubProfile{
		ID: user.GetID(), Login: user.GetLogin(), Name: user.GetName(), Email: user.GetEmail(), AvatarURL: user.GetAvatarURL(),
	}
	if profile.Email == "" {
		profile.Email, err = primaryVerifiedEmail(ctx, client)
		if err != nil {
			return domain.GitHubProfile{}, err
		}
	}
	return profile, nil
}

// primaryVerifiedEmail is the user's primary address if GitHub has verified it, else "": an unverified
// address may belong to someone else.
func primaryVerifiedEmail(ctx context.Context, client *gh.Client) (string, error) {
	emails, _, err := client.Users.ListEmails(ctx, &gh.ListOptions{PerPage: 100})
	if err != nil {
		return "", fmt.Errorf("github: list the e-mail addresses of the user who logged in: %w", err)
	}
	for _, e := range emails {
		if e.GetPrimary() && e.GetVerified() {
			return e.GetEmail(), nil
		}
	}
	return "", nil
}
