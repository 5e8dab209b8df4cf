package prefs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/instruktai/teleclaude/internal/layout"
	"github.com/instruktai/teleclaude/internal/strictyaml"
)

const anthropicKey = "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"

func env(kv ...string) Getenv {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yml")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const full = `preferences:
  default_agent: claude
  default_project: demo
  thinking_mode: high
  output_format: json
  color: never
`

func TestLoad(t *testing.T) {
	p, err := Load(writeFile(t, full), true, env())
	if err != nil {
		t.Fatal(err)
	}
	want := Preferences{DefaultAgent: "claude", DefaultProject: "demo", ThinkingMode: "high", OutputFormat: "json", Color: "never"}
	if p != want {
		t.Errorf("Load = %+v, want %+v", p, want)
	}
	if p, err := Load(filepath.Join(t.TempDir(), "absent.yml"), true, env()); err != nil || p != (Preferences{}) {
		t.Errorf("missing file: %+v, %v; want no preferences and no error", p, err)
	}
}

// TestPrecedence: TELECLAUDE_* over the file; TELECLAUDE_COLOR over NO_COLOR
// over the file.
func TestPrecedence(t *testing.T) {
	path := writeFile(t, full)
	tests := []struct {
		name string
		env  Getenv
		want Preferences
	}{
		{"file alone", env(), Preferences{"claude", "demo", "high", "json", "never"}},
		{"environment over file", env("TELECLAUDE_DEFAULT_AGENT", "shell", "TELECLAUDE_DEFAULT_PROJECT", "web", "TELECLAUDE_THINKING_MODE", "off", "TELECLAUDE_OUTPUT_FORMAT", "text", "TELECLAUDE_COLOR", "always"),
			Preferences{"shell", "web", "off", "text", "always"}},
		{"NO_COLOR over file", env("NO_COLOR", "1"), Preferences{"claude", "demo", "high", "json", "never"}},
		{"TELECLAUDE_COLOR over NO_COLOR", env("NO_COLOR", "1", "TELECLAUDE_COLOR", "auto"), Preferences{"claude", "demo", "high", "json", "auto"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Load(path, true, tt.env)
			if err != nil || got != tt.want {
				t.Errorf("Load = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
	noFile := filepath.Join(t.TempDir(), "absent.yml")
	if got, _ := Load(noFile, true, env("NO_COLOR", "yes")); got.Color != "never" {
		t.Errorf("NO_COLOR without a file: color %q, want never", got.Color)
	}
	_, err := Load(path, true, env("TELECLAUDE_THINKING_MODE", "max", "TELECLAUDE_DEFAULT_AGENT", anthropicKey))
	if err == nil || !strings.Contains(err.Error(), `TELECLAUDE_THINKING_MODE: thinking_mode "max": want off, low, medium, high`) ||
		!strings.Contains(err.Error(), "TELECLAUDE_DEFAULT_AGENT: the value of default_agent looks like an Anthropic API key") {
		t.Errorf("bad environment: err = %v", err)
	}
	if err != nil && strings.Contains(err.Error(), anthropicKey) {
		t.Errorf("the message repeats the secret: %v", err)
	}
}

func TestRejections(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       string // ":line: message" after the file name
	}{
		{"key outside the allow-list", "preferences:\n  editor: vim\n", `:2: unknown key "editor" in preferences (known: color, default_agent, default_project, output_format, thinking_mode)`},
		{"system config in a user's file", "preferences: {color: auto}\npeople: []\n", `:2: unknown key "people" in the top level (known: preferences)`},
		{"secret-named key", "preferences:\n  color: auto\n  anthropic_api_key: x\n", `:3: "anthropic_api_key" looks like the name of a secret`},
		{"secret-named key, _token", "preferences:\n  bot_token: x\n", `:2: "bot_token" looks like the name of a secret`},
		{"secret-named key, _secret", "client_secret: x\n", `:1: "client_secret" looks like the name of a secret`},
		{"secret-named key, _password", "preferences:\n  db_password: x\n", `:2: "db_password" looks like the name of a secret`},
		{"secret-shaped value", "preferences:\n  default_agent: " + anthropicKey + "\n", `:2: the value of default_agent looks like an Anthropic API key`},
		{"secret-shaped value elsewhere", "preferences: {}\nnotes: [\"" + "ghp_0123456789abcdefghijABCDEFGHIJ012345" + "\"]\n", `:2: the value of notes looks like a GitHub token`},
		{"bad choice", "preferences:\n  thinking_mode: extreme\n", `:2: thinking_mode "extreme": want off, low, medium, high`},
		{"bad name", "preferences:\n  default_project: ../etc\n", `:2: default_project "../etc": use a name of letters`},
		{"wrong type", "preferences:\n  color: [red]\n", ":2: cannot unmarshal !!seq into string"},
		{"section not a mapping", "preferences: dark\n", ":1: cannot unmarshal !!str `dark` into prefs.Preferences"},
		{"not a mapping", "- a\n- b\n", ":1: cannot unmarshal !!seq into prefs.UserFile"},
		{"duplicate key", "preferences:\n  color: auto\n  color: never\n", `:3: mapping key "color" already defined at line 2`},
		{"alias bomb", "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n", ":2: YAML aliases (*name) are not allowed"},
		{"deep nesting", "preferences: " + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "\n", ":1: nesting deeper than 32 levels"},
		{"two documents", full + "---\npreferences: {}\n", ":7: more than one YAML document"},
		{"syntax", "preferences:\n\tcolor: auto\n", ":2: found character that cannot start any token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.yaml)
			_, err := Load(path, true, env())
			if _, ok := err.(strictyaml.Problems); !ok {
				t.Fatalf("err = %v (%T), want Problems", err, err)
			}
			if !strings.Contains(err.Error(), path+tt.want) {
				t.Errorf("err =\n%v\nwant it to contain\n%s%s", err, path, tt.want)
			}
			if strings.Contains(err.Error(), "sk-ant-api03") || strings.Contains(err.Error(), "ghp_") {
				t.Errorf("the message repeats the secret: %v", err)
			}
		})
	}
}

func TestEmptyFiles(t *testing.T) {
	for _, content := range []string{"", "# only a comment\n", "preferences:\n", "preferences: {}\n"} {
		p, err := Load(writeFile(t, content), true, env())
		if err != nil || p != (Preferences{}) {
			t.Errorf("%q: %+v, %v; want no preferences and no error", content, p, err)
		}
	}
}

func TestOversized(t *testing.T) {
	_, err := Load(writeFile(t, "# "+strings.Repeat("x", strictyaml.MaxFile)+"\n"), true, env())
	if err == nil || !strings.Contains(err.Error(), "over the 1048576-byte limit") {
		t.Errorf("err = %v, want the size limit", err)
	}
}

// TestSingleUserFile: in single-user mode the file is also the daemon's
// config; only its preferences section is ours.
func TestSingleUserFile(t *testing.T) {
	daemonConfig := "computer: {name: box}\nagents:\n  shell: {command: [/bin/sh]}\npreferences:\n  default_agent: shell\n"
	p, err := Load(writeFile(t, daemonConfig), false, env())
	if err != nil || p.DefaultAgent != "shell" {
		t.Errorf("Load = %+v, %v; want default_agent shell", p, err)
	}
	path := writeFile(t, daemonConfig+"  api_key: x\n")
	if _, err := Load(path, false, env()); err == nil || !strings.Contains(err.Error(), path+`:6: "api_key" looks like the name of a secret`) {
		t.Errorf("secret in the section: err = %v", err)
	}
	if p, err := Load(writeFile(t, "computer: {name: box}\n"), false, env()); err != nil || p != (Preferences{}) {
		t.Errorf("no section: %+v, %v", p, err)
	}
}

func TestFile(t *testing.T) {
	sys := layout.Paths{Mode: layout.System, ConfigFile: "/etc/teleclaude/config.yml"}
	if path, whole := File(sys, "/home/ann"); path != "/home/ann/.teleclaude/config.yml" || !whole {
		t.Errorf("system mode: %s %v", path, whole)
	}
	if path, whole := File(sys, ""); path != "" || !whole {
		t.Errorf("system mode without a home: %q %v, want no file", path, whole)
	}
	single := layout.Paths{Mode: layout.SingleUser, ConfigFile: "/home/ann/.teleclaude/config.yml"}
	if path, whole := File(single, "/home/ann"); path != single.ConfigFile || whole {
		t.Errorf("single-user mode: %s %v", path, whole)
	}
}

func TestHeader(t *testing.T) {
	p := Preferences{DefaultAgent: "claude", Color: "never"}
	if got := p.Encode(); got != `{"default_agent":"claude","color":"never"}` {
		t.Errorf("Encode = %s", got)
	}
	if got, err := FromHeader(p.Encode()); err != nil || got != p {
		t.Errorf("round trip = %+v, %v", got, err)
	}
	if got, err := FromHeader(""); err != nil || got != (Preferences{}) {
		t.Errorf("no header = %+v, %v", got, err)
	}
	if (Preferences{}).Encode() != "{}" {
		t.Errorf("empty Encode = %s", (Preferences{}).Encode())
	}
	bad := []struct{ value, want string }{
		{`{"editor":"vim"}`, `unknown preference "editor" (allowed: default_agent, default_project, thinking_mode, output_format, color)`},
		{`{"openai_api_key":"x"}`, `"openai_api_key" looks like the name of a secret`},
		{`{"default_agent":"` + anthropicKey + `"}`, "the value of default_agent looks like an Anthropic API key"},
		{`{"color":1}`, "color must be a string"},
		{`{"color":null}`, "color must be a string"},
		{`{"color":"pink"}`, `color "pink": want auto, always, never`},
		{`["color"]`, "not a JSON object"},
		{`null`, "not a JSON object"},
		{`{"color":"auto"} {}`, "unexpected content after the JSON object"},
		{`{"color":"auto"}}`, "unexpected content after the JSON object"},
		{`{"color":"` + strings.Repeat("a", MaxHeader) + `"}`, "over the 4096-byte limit"},
	}
	for _, b := range bad {
		_, err := FromHeader(b.value)
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("FromHeader(%.40s) = %v, want %q", b.value, err, b.want)
		}
		if err != nil && strings.Contains(err.Error(), "sk-ant") {
			t.Errorf("the message repeats the secret: %v", err)
		}
	}
}
