package layout

import (
	"strings"
	"testing"
)

func host(goos, user string, env map[string]string, existing ...string) Host {
	return Host{
		GOOS: goos, UID: 1001, Username: user, Home: "/home/" + user,
		Getenv: func(k string) string { return env[k] },
		Exists: func(p string) bool {
			for _, e := range existing {
				if e == p {
					return true
				}
			}
			return false
		},
	}
}

func TestDecide(t *testing.T) {
	tests := []struct {
		name       string
		h          Host
		want       Mode
		wantReason string
	}{
		{"explicit system", host("linux", "alice", map[string]string{EnvSystemMode: "1"}), System, "TELECLAUDE_SYSTEM_MODE=1"},
		{"explicit single beats service user", host("linux", "teleclaude", map[string]string{EnvSystemMode: "0"}), SingleUser, "TELECLAUDE_SYSTEM_MODE=0"},
		{"explicit single beats system config", host("linux", "alice", map[string]string{EnvSystemMode: "0"}, "/etc/teleclaude/config.yml"), SingleUser, "=0"},
		{"linux service user", host("linux", "teleclaude", nil), System, "service user teleclaude"},
		{"darwin service user", host("darwin", "_teleclaude", nil), System, "service user _teleclaude"},
		{"linux name on darwin is not the service user", host("darwin", "teleclaude", nil), SingleUser, "no TELECLAUDE_SYSTEM_MODE"},
		{"system config exists", host("linux", "alice", nil, "/etc/teleclaude/config.yml"), System, "/etc/teleclaude/config.yml exists"},
		{"darwin system config exists", host("darwin", "alice", nil, "/Library/Application Support/TeleClaude/config.yml"), System, "exists"},
		{"nothing", host("linux", "alice", nil), SingleUser, "no system config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Decide(tt.h)
			if err != nil {
				t.Fatal(err)
			}
			if d.Mode != tt.want || !strings.Contains(d.Reason, tt.wantReason) {
				t.Errorf("Decide = %+v, want mode %s with reason containing %q", d, tt.want, tt.wantReason)
			}
		})
	}
}

func TestDecideRejectsGarbage(t *testing.T) {
	_, err := Decide(host("linux", "alice", map[string]string{EnvSystemMode: "maybe"}))
	if err == nil || !strings.Contains(err.Error(), "TELECLAUDE_SYSTEM_MODE") {
		t.Fatalf("err = %v, want one naming TELECLAUDE_SYSTEM_MODE", err)
	}
}

func TestResolve(t *testing.T) {
	tests := []struct {
		name string
		h    Host
		mode Mode
		want Paths
	}{
		{"linux system", host("linux", "teleclaude", nil), System, Paths{
			Mode: System, ServiceUser: "teleclaude", ConfigFile: "/etc/teleclaude/config.yml", SecretsFile: "/etc/teleclaude/secrets.yml",
			DataDir: "/var/lib/teleclaude", LogDir: "/var/log/teleclaude", RunDir: "/run/teleclaude",
			Socket: "/run/teleclaude/teleclaude.sock", SharedDir: "/var/lib/teleclaude/shared", ShippedDocs: "/usr/share/teleclaude"}},
		{"darwin system", host("darwin", "_teleclaude", nil), System, Paths{
			Mode: System, ServiceUser: "_teleclaude", ConfigFile: "/Library/Application Support/TeleClaude/config.yml",
			SecretsFile: "/Library/Application Support/TeleClaude/secrets.yml",
			DataDir:     "/Library/Application Support/TeleClaude/data", LogDir: "/Library/Logs/TeleClaude",
			RunDir: "/Library/Application Support/TeleClaude/run", Socket: "/Library/Application Support/TeleClaude/run/teleclaude.sock",
			SharedDir: "/Library/Application Support/TeleClaude/shared", ShippedDocs: "/Library/Application Support/TeleClaude/docs"}},
		{"linux single with XDG", host("linux", "alice", map[string]string{"XDG_RUNTIME_DIR": "/run/user/1001"}), SingleUser, Paths{
			Mode: SingleUser, ConfigFile: "/home/alice/.teleclaude/config.yml", SecretsFile: "/home/alice/.teleclaude/secrets.yml",
			DataDir: "/home/alice/.teleclaude", RunDir: "/run/user/1001/teleclaude", Socket: "/run/user/1001/teleclaude/teleclaude.sock",
			SharedDir: "/home/alice/.teleclaude/docs", PrivateRunDir: true}},
		{"linux single without XDG", host("linux", "alice", nil), SingleUser, Paths{
			Mode: SingleUser, ConfigFile: "/home/alice/.teleclaude/config.yml", SecretsFile: "/home/alice/.teleclaude/secrets.yml",
			DataDir: "/home/alice/.teleclaude", RunDir: "/tmp/teleclaude-1001", Socket: "/tmp/teleclaude-1001/teleclaude.sock",
			SharedDir: "/home/alice/.teleclaude/docs", PrivateRunDir: true}},
		{"darwin single uses TMPDIR", host("darwin", "alice", map[string]string{"TMPDIR": "/var/folders/xy/T", "XDG_RUNTIME_DIR": "/ignored"}), SingleUser, Paths{
			Mode: SingleUser, ConfigFile: "/home/alice/.teleclaude/config.yml", SecretsFile: "/home/alice/.teleclaude/secrets.yml",
			DataDir: "/home/alice/.teleclaude", RunDir: "/var/folders/xy/T/teleclaude", Socket: "/var/folders/xy/T/teleclaude/teleclaude.sock",
			SharedDir: "/home/alice/.teleclaude/docs", PrivateRunDir: true}},
		{"overrides", host("linux", "alice", map[string]string{
			EnvConfigDir: "/t/etc", EnvDataDir: "/t/data", EnvLogDir: "/t/log", EnvRunDir: "/t/run", EnvSharedDir: "/t/shared"}), System, Paths{
			Mode: System, ServiceUser: "teleclaude", ConfigFile: "/t/etc/config.yml", SecretsFile: "/t/etc/secrets.yml", DataDir: "/t/data", LogDir: "/t/log",
			RunDir: "/t/run", Socket: "/t/run/teleclaude.sock", SharedDir: "/t/shared", ShippedDocs: "/usr/share/teleclaude"}},
		{"config path and socket beat dirs", host("linux", "alice", map[string]string{
			EnvConfigDir: "/t/etc", EnvConfigPath: "/t/other.yml", EnvRunDir: "/t/run", EnvSocket: "/t/s.sock"}), SingleUser, Paths{
			Mode: SingleUser, ConfigFile: "/t/other.yml", SecretsFile: "/t/etc/secrets.yml", DataDir: "/home/alice/.teleclaude",
			RunDir: "/t/run", Socket: "/t/s.sock", SharedDir: "/home/alice/.teleclaude/docs", PrivateRunDir: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Resolve(tt.h, tt.mode)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Resolve =\n %+v\nwant\n %+v", got, tt.want)
			}
		})
	}
}

func TestResolveRejectsRelative(t *testing.T) {
	_, err := Resolve(host("linux", "alice", map[string]string{EnvDataDir: "data"}), SingleUser)
	if err == nil || !strings.Contains(err.Error(), "absolute") {
		t.Fatalf("err = %v, want an error about absolute paths", err)
	}
}
