// Package layout decides whether TeleClaude runs system-wide or for a single
// user, and where its files live in that mode (docs/DESIGN.md, "Layers").
//
// The decision is made once at start, from an explicit environment switch, the
// identity of the running user and the presence of the system config, in that
// order. Every directory can be overridden by its own environment variable so
// that tests can run a system-mode daemon without touching /etc or /run.
package layout

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
)

// Mode is how the daemon is deployed.
type Mode string

const (
	System     Mode = "system"
	SingleUser Mode = "single-user"
)

// Environment variables that steer the layout.
const (
	EnvSystemMode = "TELECLAUDE_SYSTEM_MODE"
	EnvConfigPath = "TELECLAUDE_CONFIG_PATH"
	EnvSecrets    = "TELECLAUDE_SECRETS_PATH"
	EnvConfigDir  = "TELECLAUDE_CONFIG_DIR"
	EnvDataDir    = "TELECLAUDE_DATA_DIR"
	EnvLogDir     = "TELECLAUDE_LOG_DIR"
	EnvRunDir     = "TELECLAUDE_RUN_DIR"
	EnvSharedDir  = "TELECLAUDE_SHARED_DIR"
	EnvSocket     = "TELECLAUDE_SOCKET"
)

// SocketName is the file name of the API socket inside the run directory.
const SocketName = "teleclaude.sock"

// Host describes the machine and the running process: everything the mode
// decision and the path table depend on. Tests build one by hand; Current
// reads the real one.
type Host struct {
	GOOS     string
	UID      int
	Username string // "" when the uid has no passwd entry
	Home     string
	Getenv   func(string) string
	Exists   func(path string) bool
}

// Current describes this process on this machine.
func Current() Host {
	h := Host{
		GOOS:   runtime.GOOS,
		UID:    os.Getuid(),
		Getenv: os.Getenv,
		Exists: func(p string) bool { _, err := os.Stat(p); return err == nil },
	}
	h.Username, h.Home = currentUser()
	return h
}

// ServiceUser is the name of the dedicated account the system daemon runs as.
func ServiceUser(goos string) string {
	if goos == "darwin" {
		return "_teleclaude"
	}
	return "teleclaude"
}

// RootGroup is the name of group 0: root on Linux, wheel on macOS.
func RootGroup(goos string) string {
	if goos == "darwin" {
		return "wheel"
	}
	return "root"
}

// Decision is the chosen mode and the reason, which the daemon logs at start.
type Decision struct {
	Mode   Mode
	Reason string
}

// Decide applies the mode ladder: explicit switch, service user,
// system config present, otherwise single-user.
func Decide(h Host) (Decision, error) {
	switch v := h.Getenv(EnvSystemMode); v {
	case "":
	case "1", "true", "yes":
		return Decision{System, EnvSystemMode + "=" + v}, nil
	case "0", "false", "no":
		return Decision{SingleUser, EnvSystemMode + "=" + v}, nil
	default:
		return Decision{}, fmt.Errorf("%s=%q: want 1 (system) or 0 (single-user)", EnvSystemMode, v)
	}
	if su := ServiceUser(h.GOOS); h.Username == su {
		return Decision{System, "running as the service user " + su}, nil
	}
	if p := systemBase(h.GOOS).config; h.Exists(p) {
		return Decision{System, "system config " + p + " exists"}, nil
	}
	return Decision{SingleUser, "no " + EnvSystemMode + ", not the service user, no system config at " + systemBase(h.GOOS).config}, nil
}

// Paths is where everything lives for one mode.
type Paths struct {
	Mode Mode
	// ServiceUser is the account the system daemon runs as, which owns the
	// secrets file ("" in single-user mode, where everything is the user's).
	ServiceUser string
	ConfigFile  string
	SecretsFile string
	DataDir     string
	LogDir      string // "" means stderr (single-user) or journald
	RunDir      string
	Socket      string
	SharedDir   string // runtime shared docs
	ShippedDocs string // read-only docs shipped with the package ("" in single-user mode)
	// PrivateRunDir reports whether RunDir is a per-user directory the daemon
	// creates itself with mode 0700 (single-user), rather than one that the
	// service manager or package owns.
	PrivateRunDir bool
}

type systemPaths struct {
	config, secrets, data, logs, run, shared, shipped string
}

func systemBase(goos string) systemPaths {
	if goos == "darwin" {
		// Apple's locations, not /usr/local: /usr/local is often writable by
		// the Homebrew user, and a root daemon's files there invite escalation.
		const base = "/Library/Application Support/TeleClaude"
		return systemPaths{
			config:  base + "/config.yml",
			secrets: base + "/secrets.yml",
			data:    base + "/data",
			logs:    "/Library/Logs/TeleClaude",
			// macOS clears /var/run at boot and the service user cannot create there.
			run:     base + "/run",
			shared:  base + "/shared",
			shipped: base + "/docs",
		}
	}
	return systemPaths{
		config:  "/etc/teleclaude/config.yml",
		secrets: "/etc/teleclaude/secrets.yml",
		data:    "/var/lib/teleclaude",
		logs:    "/var/log/teleclaude",
		run:     "/run/teleclaude",
		shared:  "/var/lib/teleclaude/shared",
		shipped: "/usr/share/teleclaude",
	}
}

// Resolve returns the paths for mode m on host h, with every environment
// override applied.
func Resolve(h Host, m Mode) (Paths, error) {
	var p Paths
	p.Mode = m
	switch m {
	case System:
		b := systemBase(h.GOOS)
		p = Paths{Mode: m, ServiceUser: ServiceUser(h.GOOS), ConfigFile: b.config, SecretsFile: b.secrets, DataDir: b.data,
			LogDir: b.logs, RunDir: b.run, SharedDir: b.shared, ShippedDocs: b.shipped}
	case SingleUser:
		if h.Home == "" {
			return Paths{}, fmt.Errorf("single-user mode needs a home directory for uid %d (set HOME or %s)", h.UID, EnvDataDir)
		}
		dot := filepath.Join(h.Home, ".teleclaude")
		p = Paths{Mode: m, ConfigFile: filepath.Join(dot, "config.yml"), SecretsFile: filepath.Join(dot, "secrets.yml"),
			DataDir: dot, RunDir: singleUserRunDir(h), SharedDir: filepath.Join(dot, "docs"), PrivateRunDir: true}
	default:
		return Paths{}, fmt.Errorf("unknown mode %q", m)
	}

	if d := h.Getenv(EnvConfigDir); d != "" {
		p.ConfigFile = filepath.Join(d, "config.yml")
		p.SecretsFile = filepath.Join(d, "secrets.yml")
	}
	override(h, EnvConfigPath, &p.ConfigFile)
	override(h, EnvSecrets, &p.SecretsFile)
	override(h, EnvDataDir, &p.DataDir)
	override(h, EnvLogDir, &p.LogDir)
	if d := h.Getenv(EnvRunDir); d != "" {
		p.RunDir = d
		// An explicitly chosen run dir is still created private in
		// single-user mode; in system mode it is the caller's to prepare.
	}
	override(h, EnvSharedDir, &p.SharedDir)
	p.Socket = filepath.Join(p.RunDir, SocketName)
	override(h, EnvSocket, &p.Socket)
	for _, f := range []*string{&p.ConfigFile, &p.SecretsFile, &p.DataDir, &p.LogDir, &p.RunDir, &p.SharedDir, &p.Socket} {
		if *f != "" && !filepath.IsAbs(*f) {
			return Paths{}, fmt.Errorf("path %q must be absolute (check the TELECLAUDE_* variables)", *f)
		}
	}
	return p, nil
}

func override(h Host, env string, dst *string) {
	if v := h.Getenv(env); v != "" {
		*dst = v
	}
}

// singleUserRunDir keeps the socket in a directory only this user can enter,
// never at a fixed name in a shared /tmp where another user could squat it.
func singleUserRunDir(h Host) string {
	if h.GOOS == "darwin" {
		if t := h.Getenv("TMPDIR"); t != "" {
			return filepath.Join(t, "teleclaude")
		}
	} else if x := h.Getenv("XDG_RUNTIME_DIR"); x != "" {
		return filepath.Join(x, "teleclaude")
	}
	return "/tmp/teleclaude-" + strconv.Itoa(h.UID)
}

// Detect decides the mode for this process and resolves its paths.
func Detect() (Paths, Decision, error) {
	h := Current()
	d, err := Decide(h)
	if err != nil {
		return Paths{}, Decision{}, err
	}
	p, err := Resolve(h, d.Mode)
	return p, d, err
}
