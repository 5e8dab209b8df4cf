package secretscan

import (
	"strings"
	"testing"

	"github.com/instruktai/teleclaude/internal/strictyaml"
)

func TestValue(t *testing.T) {
	secrets := map[string]string{
		"sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789":          "Anthropic",
		"sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz":                         "OpenAI",
		"AIzaSyA1234567890abcdefghijklmnopqrstuv":                    "Google",
		"ghp_0123456789abcdefghijABCDEFGHIJ012345":                   "GitHub",
		"github_pat_11ABCDEFG0123456789_abcdefghijklmnop":            "GitHub",
		"glpat-abcdefghij0123456789":                                 "GitLab",
		"xoxb-1234567890-abcdefghij":                                 "Slack",
		"AKIAIOSFODNN7EXAMPLE":                                       "AWS",
		"123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawQ":              "Telegram",
		"hf_abcdefghijklmnopqrstuvwxyz012345":                        "Hugging Face",
		"sk_live_0123456789abcdefgh":                                 "Stripe",
		"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig":       "JSON Web Token",
		"-----BEGIN OPENSSH PRIVATE KEY-----":                        "private key",
		"redis://:hunter2@redis.example.org:6379":                    "URL with a password",
		"see sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789 here": "Anthropic",
	}
	for v, want := range secrets {
		if kind, ok := Value(v); !ok || !strings.Contains(kind, want) {
			t.Errorf("Value(%.20s…) = %q, %v; want %s", v, kind, ok, want)
		}
	}
	for _, v := range []string{"shell", "claude", "/usr/bin/claude", "task-manager-for-a-rather-long-project", "demo",
		"postgres://teleclaude@/teleclaude", "high", "2024-01-01T00:00:00Z", "https://example.org/path:with@odd"} {
		if kind, ok := Value(v); ok {
			t.Errorf("Value(%q) = %s, want no secret", v, kind)
		}
	}
}

func TestName(t *testing.T) {
	for _, n := range []string{"api_key", "ANTHROPIC_API_KEY", "bot_token", "client_secret", "db_password", "password", "token", "apikey", "x-api-key"} {
		if !Name(n) {
			t.Errorf("Name(%q) = false, want true", n)
		}
	}
	for _, n := range []string{"monkey", "default_agent", "secrets_env", "tokens_used", "keyboard", "color"} {
		if Name(n) {
			t.Errorf("Name(%q) = true, want false", n)
		}
	}
}

func TestScan(t *testing.T) {
	doc, probs := strictyaml.Parse("f.yml", []byte("a:\n  env: {OPENAI_API_KEY: sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz}\n  list: [ok, \"AKIAIOSFODNN7EXAMPLE\"]\n"))
	if probs != nil {
		t.Fatal(probs)
	}
	got := Scan("f.yml", doc.Root, false, "put it in secrets.yml").Error()
	for _, w := range []string{"f.yml:2: the value of OPENAI_API_KEY looks like an OpenAI-style API key; this file must not hold secrets (put it in secrets.yml)",
		"f.yml:3: the value of list looks like an AWS access key"} {
		if !strings.Contains(got, w) {
			t.Errorf("Scan =\n%s\nwant %s", got, w)
		}
	}
	if strings.Contains(got, "AKIA") || strings.Contains(got, "sk-proj") {
		t.Errorf("Scan repeats a secret: %s", got)
	}
	if got := Scan("f.yml", doc.Root, true, "x").Error(); !strings.Contains(got, `f.yml:2: "OPENAI_API_KEY" looks like the name of a secret`) {
		t.Errorf("Scan with names = %s", got)
	}
}
