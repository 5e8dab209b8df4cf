package doctor

import (
	"fmt"
	"runtime"
	"slices"
	"strings"

	"github.com/instruktai/teleclaude/internal/config"
	"github.com/instruktai/teleclaude/internal/osuser"
)

// people checks that the setup can serve anyone: a config with no people
// lets nobody start a session, and a person whose account is not in the
// socket's group cannot reach the daemon at all.
func people(cfg *config.Config, group string) Check {
	c := Check{Name: "people", Status: Pass}
	if len(cfg.People) == 0 {
		c.Status = Warn
		c.Detail = "people: is empty: everyone who reaches the socket is public and can start no session"
		c.Fix = "add each person under people: in " + cfg.File + " ({name, role, os_username}), then: sudo systemctl reload teleclaude"
		return c
	}
	gid, err := osuser.LookupGroup(group)
	if err != nil {
		c.Detail = fmt.Sprintf("%d people", len(cfg.People))
		return c // the socket group check already says so
	}
	var outside, fixes []string
	for _, p := range cfg.People {
		if p.OSUsername == "" {
			continue
		}
		a, err := lookupAccount(p.OSUsername)
		if err != nil || slices.Contains(a.gids, gid) {
			continue // an unknown account is the config check's to report
		}
		outside = append(outside, fmt.Sprintf("%s (%s)", p.Name, a.name))
		fix := fmt.Sprintf("sudo usermod -aG %s %s", group, a.name)
		switch {
		case runtime.GOOS == "darwin":
			fix = fmt.Sprintf("sudo dseditgroup -o edit -a %s -t user %s", a.name, group)
		case a.directory:
			fix = fmt.Sprintf("sudo gpasswd -a %s %s", a.name, group)
		}
		fixes = append(fixes, fix)
	}
	if len(outside) > 0 {
		c.Status = Warn
		c.Detail = fmt.Sprintf("not in the %s group, so they cannot reach the daemon: %s", group, strings.Join(outside, ", "))
		c.Fix = strings.Join(fixes, "; ") + " (each then logs in again, or runs newgrp " + group + ")"
		return c
	}
	c.Detail = fmt.Sprintf("%d people, all in the %s group", len(cfg.People), group)
	return c
}

// projects checks every project's directory: it exists, and each person
// can enter it (config.ProjectWarnings).
func projects(cfg *config.Config) Check {
	c := Check{Name: "projects", Status: Pass, Detail: fmt.Sprintf("%d projects; every person can enter each", len(cfg.Projects))}
	if len(cfg.Projects) == 0 {
		return Check{Name: "projects", Status: Warn, Detail: "no projects: sessions start only in a configured project",
			Fix: "add projects: ({name, path}) to " + cfg.File + ", then: sudo systemctl reload teleclaude"}
	}
	if ws := config.ProjectWarnings(cfg); len(ws) > 0 {
		c.Status = Warn
		c.Detail = strings.Join(ws, "; ")
		c.Fix = "each line above names its next step"
	}
	return c
}
