package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/instruktai/teleclaude/internal/apitype"
	"github.com/instruktai/teleclaude/internal/identity"
	"github.com/instruktai/teleclaude/internal/prefs"
)

func TestPreferencesHeader(t *testing.T) {
	c := serve(t, identity.Member, backend{})
	sent := prefs.Preferences{DefaultAgent: "claude", ThinkingMode: "low"}
	code, body, _ := do(t, c, "GET", "/v1/whoami", nil, map[string]string{prefs.Header: sent.Encode()})
	var w apitype.Whoami
	if err := json.Unmarshal(body, &w); err != nil || code != 200 || w.Preferences != sent {
		t.Errorf("whoami with preferences = %d %s, want them echoed", code, body)
	}
	if _, body, _ := do(t, c, "GET", "/v1/whoami", nil, nil); !strings.Contains(string(body), `"preferences":{}`) {
		t.Errorf("whoami without preferences = %s, want an empty object", body)
	}

	key := "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
	bad := map[string]string{
		`{"editor":"vim"}`:                `unknown preference \"editor\"`,
		`{"anthropic_api_key":"x"}`:       `looks like the name of a secret`,
		`{"default_agent":"` + key + `"}`: "looks like an Anthropic API key",
		`{"color":"pink"}`:                `color \"pink\": want auto, always, never`,
		`not json`:                        "not a JSON object",
	}
	for value, want := range bad {
		for _, path := range []string{"/v1/whoami", "/v1/status", "/v1/nope"} {
			code, body, _ := do(t, c, "GET", path, nil, map[string]string{prefs.Header: value})
			if code != 400 || !strings.Contains(string(body), `"code":"bad_preferences"`) || !strings.Contains(string(body), want) {
				t.Errorf("GET %s with %s = %d %s, want 400 bad_preferences naming %s", path, value, code, body, want)
			}
			if strings.Contains(string(body), key) {
				t.Errorf("the answer repeats the secret: %s", body)
			}
		}
	}

	req, _ := http.NewRequest("GET", "http://teleclaude/v1/whoami", nil)
	req.Header.Add(prefs.Header, `{"color":"auto"}`)
	req.Header.Add(prefs.Header, `{"color":"never"}`)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("the header twice = %d, want 400", resp.StatusCode)
	}
}

func TestPreferencesFromBareContext(t *testing.T) {
	if p := PreferencesFrom(context.Background()); p != (prefs.Preferences{}) {
		t.Errorf("PreferencesFrom(no request) = %+v, want none", p)
	}
}
