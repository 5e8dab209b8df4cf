package config

import (
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/instruktai/teleclaude/internal/identity"
	"github.com/instruktai/teleclaude/internal/strictyaml"
	"github.com/sirupsen/logrus"
)

var (
	envName  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	safeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	osUser   = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,31}\$?$`)
)

// validate checks the merged config. doc is the parsed file (nil when there
// was no file) and is used only to point at lines.
func (c *Config) validate(file string, doc *strictyaml.Document) Problems {
	loc := locator{doc}
	var probs Problems
	add := func(line int, format string, args ...any) {
		probs = append(probs, Problem{File: file, Line: line, Msg: fmt.Sprintf(format, args...)})
	}

	names := map[string]int{}
	osUsers := map[string]int{}
	for i, p := range c.People {
		line := loc.line("people", i)
		switch {
		case p.Name == "":
			add(line, "people[%d]: name is required", i)
		case !safeName.MatchString(p.Name):
			add(loc.line("people", i, "name"), "people[%d]: name %q: use letters, digits, '.', '_' or '-'", i, p.Name)
		}
		if prev, dup := names[p.Name]; dup && p.Name != "" {
			add(loc.line("people", i, "name"), "person %q is defined twice (first at people[%d])", p.Name, prev)
		}
		names[p.Name] = i
		r, err := identity.ParseRole(p.Role)
		if err != nil || r == identity.Public {
			add(loc.line("people", i, "role"), "people[%d] (%s): role %q: want one of admin, member, contributor, newcomer", i, p.Name, p.Role)
		}
		if p.OSUsername != "" {
			if !osUser.MatchString(p.OSUsername) {
				add(loc.line("people", i, "os_username"), "people[%d] (%s): os_username %q is not a valid account name", i, p.Name, p.OSUsername)
			}
			if prev, dup := osUsers[p.OSUsername]; dup {
				add(loc.line("people", i, "os_username"), "os_username %q is mapped to two people (%s and %s); an account is one person",
					p.OSUsername, c.People[prev].Name, p.Name)
			}
			osUsers[p.OSUsername] = i
		}
	}

	projects := map[string]bool{}
	for i, p := range c.Projects {
		switch {
		case p.Name == "":
			add(loc.line("projects", i), "projects[%d]: name is required", i)
		case !safeName.MatchString(p.Name):
			add(loc.line("projects", i, "name"), "projects[%d]: name %q: use letters, digits, '.', '_' or '-'", i, p.Name)
		case projects[p.Name]:
			add(loc.line("projects", i, "name"), "project %q is defined twice", p.Name)
		}
		projects[p.Name] = true
		if !filepath.IsAbs(p.Path) {
			add(loc.line("projects", i, "path"), "projects[%d] (%s): path %q must be absolute", i, p.Name, p.Path)
		}
	}

	agentNames := make([]string, 0, len(c.Agents))
	for name := range c.Agents {
		agentNames = append(agentNames, name)
	}
	sort.Strings(agentNames)
	for _, name := range agentNames {
		a := c.Agents[name]
		if !safeName.MatchString(name) {
			add(loc.line("agents"), "agent name %q: use letters, digits, '.', '_' or '-'", name)
		}
		if len(a.Command) == 0 || a.Command[0] == "" {
			add(loc.line("agents", name), "agent %s: command is required, e.g. command: [\"/bin/sh\"]", name)
		}
		for _, k := range a.SecretsEnv {
			if !envName.MatchString(k) {
				add(loc.line("agents", name, "secrets_env"), "agent %s: secrets_env %q is not a variable name", name, k)
			}
		}
		for k := range a.Env {
			if !envName.MatchString(k) {
				add(loc.line("agents", name, "env"), "agent %s: env %q is not a variable name", name, k)
			}
		}
		for _, r := range a.Roles {
			if rv, err := identity.ParseRole(r); err != nil || rv == identity.Public {
				add(loc.line("agents", name, "roles"), "agent %s: role %q: want admin, member, contributor or newcomer", name, r)
			}
		}
		for _, who := range a.People {
			if !c.hasPerson(who) {
				add(loc.line("agents", name, "people"), "agent %s: %q is not one of the people", name, who)
			}
		}
	}
	if d := c.Sessions.DefaultAgent; d != "" {
		if _, ok := c.Agents[d]; !ok {
			add(loc.line("sessions", "default_agent"), "sessions.default_agent %q is not one of the agents (%s)", d, strings.Join(agentNames, ", "))
		}
	}
	if *c.Sessions.MinUID < 0 {
		add(loc.line("sessions", "min_uid"), "sessions.min_uid must not be negative")
	}
	switch c.Sessions.Host {
	case HostAuto, HostSystemd, HostDirect:
	default:
		add(loc.line("sessions", "host"), "sessions.host %q: want auto, systemd or direct", c.Sessions.Host)
	}
	if c.Sessions.MaxRunning < 0 {
		add(loc.line("sessions", "max_running"), "sessions.max_running must be at least 1")
	}
	if n := c.Sessions.TranscriptMaxBytes; n < 64<<10 {
		add(loc.line("sessions", "transcript_max_bytes"), "sessions.transcript_max_bytes is %d; at least 65536 (64 KiB)", n)
	}
	if n := c.Sessions.PersonTranscriptMaxBytes; n != -1 && n < c.Sessions.TranscriptMaxBytes {
		add(loc.line("sessions", "person_transcript_max_bytes"), "sessions.person_transcript_max_bytes is %d; at least sessions.transcript_max_bytes (%d), or -1 for no limit", n, c.Sessions.TranscriptMaxBytes)
	}
	if n := c.Docs.PersonMaxBytes; n != -1 && n < 1<<20 {
		add(loc.line("docs", "person_max_bytes"), "docs.person_max_bytes is %d; at least 1048576 (1 MiB, one doc's most), or -1 for no limit", n)
	}
	if n := c.Docs.PersonMaxCount; n != -1 && n < 1 {
		add(loc.line("docs", "person_max_count"), "docs.person_max_count is %d; at least 1, or -1 for no limit", n)
	}
	if t := c.Sessions.Tmux; strings.Contains(t, "/") && !filepath.IsAbs(t) {
		add(loc.line("sessions", "tmux"), "sessions.tmux %q: give an absolute path, or a bare name to look up in PATH", t)
	}

	switch c.Database.Engine {
	case "sqlite":
		if !filepath.IsAbs(c.Database.Path) {
			add(loc.line("database", "path"), "database.path %q must be absolute", c.Database.Path)
		}
	case "postgresql":
		if c.Database.Port <= 0 || c.Database.Port > 65535 {
			add(loc.line("database", "port"), "database.port %d is not a TCP port", c.Database.Port)
		}
		switch c.Database.SSLMode {
		case "", "disable", "allow", "prefer", "require", "verify-ca", "verify-full":
		default:
			add(loc.line("database", "sslmode"), "database.sslmode %q: want disable, allow, prefer, require, verify-ca or verify-full", c.Database.SSLMode)
		}
	default:
		add(loc.line("database", "engine"), "database.engine %q: want sqlite or postgresql", c.Database.Engine)
	}

	if !filepath.IsAbs(c.Socket.Path) {
		add(loc.line("socket", "path"), "socket.path %q must be absolute", c.Socket.Path)
	}
	if m, err := strconv.ParseUint(c.Socket.Mode, 8, 32); err != nil || m > 0o777 {
		add(loc.line("socket", "mode"), "socket.mode %q: want an octal mode such as \"0660\"", c.Socket.Mode)
	} else if m&0o600 != 0o600 {
		add(loc.line("socket", "mode"), "socket.mode %q: the daemon's own user needs read and write (0600 at least)", c.Socket.Mode)
	} else if m&0o007 != 0 {
		c.Warnings = append(c.Warnings, fmt.Sprintf("socket.mode %s lets every local user connect; roles still come from peer credentials, but 0660 with the group is the intended setup", c.Socket.Mode))
	}

	if _, err := logrus.ParseLevel(c.Logging.Level); err != nil {
		add(loc.line("logging", "level"), "logging.level %q: want debug, info, warn or error", c.Logging.Level)
	}
	if c.Logging.Format != "text" && c.Logging.Format != "json" {
		add(loc.line("logging", "format"), "logging.format %q: want text or json", c.Logging.Format)
	}
	return probs
}

func (c *Config) hasPerson(name string) bool {
	for _, p := range c.People {
		if p.Name == name {
			return true
		}
	}
	return false
}
