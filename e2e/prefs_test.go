//go:build linux

package e2e

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/instruktai/teleclaude/internal/apitype"
	"github.com/instruktai/teleclaude/internal/prefs"
)

// homeFor makes a home directory for acct holding ~/.teleclaude/config.yml.
func homeFor(t *testing.T, acct account, content string) string {
	t.Helper()
	home := sharedDir(t, "home-")
	dot := filepath.Join(home, ".teleclaude")
	os.Mkdir(dot, 0o755)
	os.WriteFile(filepath.Join(dot, "config.yml"), []byte(content), 0o644)
	for _, p := range []string{home, dot, filepath.Join(dot, "config.yml")} {
		os.Chown(p, acct.uid, acct.gid)
	}
	return home
}

// TestPreferencesEndToEnd: telec reads a user's file, the environment wins
// over it, the daemon receives and echoes what telec sent, and a file with a
// secret in it stops telec before it talks to anyone.
func TestPreferencesEndToEnd(t *testing.T) {
	requireRoot(t)
	d := startDaemon(t, daemonOpts{})
	member := lookup(t, uMember)
	home := homeFor(t, member, "preferences:\n  default_agent: shell\n  default_project: demo\n  thinking_mode: low\n")
	env := []string{"TELECLAUDE_SOCKET=" + d.socket, "HOME=" + home}

	w := decode[apitype.Whoami](t, run(t, &member, env, telecBin, "whoami", "--json"))
	if want := (prefs.Preferences{DefaultAgent: "shell", DefaultProject: "demo", ThinkingMode: "low"}); w.Preferences != want {
		t.Errorf("the daemon received %+v, want %+v", w.Preferences, want)
	}
	w = decode[apitype.Whoami](t, run(t, &member, append(env, "TELECLAUDE_THINKING_MODE=high", "NO_COLOR=1"), telecBin, "whoami", "--json"))
	if w.Preferences.ThinkingMode != "high" || w.Preferences.Color != "never" || w.Preferences.DefaultAgent != "shell" {
		t.Errorf("environment over file: %+v", w.Preferences)
	}

	// output_format: json stands for --json; the flag still wins.
	jsonHome := homeFor(t, member, "preferences: {output_format: json}\n")
	env2 := []string{"TELECLAUDE_SOCKET=" + d.socket, "HOME=" + jsonHome}
	if r := run(t, &member, env2, telecBin, "whoami"); r.code != 0 || !strings.HasPrefix(r.stdout, "{") {
		t.Errorf("output_format json: exit %d, %s%s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, &member, env2, telecBin, "whoami", "--json=false"); r.code != 0 || !strings.HasPrefix(r.stdout, "user:") {
		t.Errorf("--json=false over output_format json: exit %d, %s%s", r.code, r.stdout, r.stderr)
	}

	key := "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
	bad := homeFor(t, member, "preferences:\n  default_agent: shell\n  anthropic_api_key: "+key+"\n")
	file := filepath.Join(bad, ".teleclaude", "config.yml")
	r := run(t, &member, []string{"TELECLAUDE_SOCKET=/nonexistent/socket", "HOME=" + bad}, telecBin, "whoami")
	if r.code != 2 || !strings.Contains(r.stderr, file+`:3: "anthropic_api_key" looks like the name of a secret`) {
		t.Errorf("a secret in the file: exit %d (want 2, before any connection), %s", r.code, r.stderr)
	}
	if strings.Contains(r.stderr, key) {
		t.Errorf("telec repeated the secret: %s", r.stderr)
	}
}

// TestDaemonRechecksPreferences: a client other than telec gets the same
// rules from the daemon: 400, and the value not repeated.
func TestDaemonRechecksPreferences(t *testing.T) {
	requireRoot(t)
	d := startDaemon(t, daemonOpts{})
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", d.socket)
	}}}
	key := "xoxb-1234567890-abcdefghijkl"
	for value, want := range map[string]string{
		`{"editor":"vim"}`:        `unknown preference \"editor\"`,
		`{"slack_token":"x"}`:     `\"slack_token\" looks like the name of a secret`,
		`{"color":"` + key + `"}`: "looks like a Slack token",
	} {
		req, _ := http.NewRequest("GET", "http://teleclaude/v1/whoami", nil)
		req.Header.Set(prefs.Header, value)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.Contains(string(body), `"code":"bad_preferences"`) || !strings.Contains(string(body), want) {
			t.Errorf("%s: %d %s, want 400 naming %s", value, resp.StatusCode, body, want)
		}
		if strings.Contains(string(body), key) {
			t.Errorf("the daemon repeated the secret: %s", body)
		}
	}
}
