// Package doctor examines a TeleClaude installation the way a careful admin
// would, one check at a time: mode, service user and group, directories and
// files with their owners and modes, the secrets' permissions, the config,
// the socket, the database, and whether the caller is in the socket's group
// in this very login session. Each check is PASS, WARN or FAIL, and every
// WARN and FAIL says how to fix it.
package doctor

import (
	"context"
	"fmt"
	"os"

	"github.com/instruktai/teleclaude/internal/config"
	"github.com/instruktai/teleclaude/internal/layout"
	"github.com/instruktai/teleclaude/internal/osuser"
)

// Status is a check's verdict.
type Status string

const (
	Pass Status = "PASS"
	Warn Status = "WARN" // works, but should be fixed
	Fail Status = "FAIL" // does not work, or is unsafe
)

// Check is one thing examined.
type Check struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// Report is every check, in order; OK when none failed.
type Report struct {
	OK     bool    `json:"ok"`
	Checks []Check `json:"checks"`
}

// Find returns the check called name.
func (r Report) Find(name string) (Check, bool) {
	for _, c := range r.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return Check{}, false
}

// Setup is what doctor examines, and who asks.
type Setup struct {
	Paths    layout.Paths
	Decision layout.Decision
	// ServiceUser is the system daemon's account.
	ServiceUser string
	// Socket overrides the daemon's socket ("" for the config's).
	Socket string
	Getenv config.Getenv
	Caller Caller
	// Database checks the database as the daemon's user; it is asked when
	// the daemon does not answer for it.
	Database func(ctx context.Context) Check
}

// Caller is who runs doctor.
type Caller struct {
	UID  int
	Name string
	// Session is the groups of this process: what the login session has,
	// whatever the group database says now.
	Session []int
}

// CurrentCaller describes this process.
func CurrentCaller() Caller {
	c := Caller{UID: os.Getuid(), Name: osuser.UserName(os.Getuid())}
	gids, _ := os.Getgroups()
	c.Session = append(gids, os.Getgid())
	return c
}

// Run examines everything and reports.
func Run(ctx context.Context, s Setup) Report {
	var r Report
	add := func(cs ...Check) { r.Checks = append(r.Checks, cs...) }
	system := s.Paths.Mode == layout.System
	add(Check{Name: "mode", Status: Pass, Detail: fmt.Sprintf("%s (%s)", s.Paths.Mode, s.Decision.Reason)})

	var daemon *account
	if system {
		// The secrets belong to the service user doctor was told of.
		s.Paths.ServiceUser = s.ServiceUser
		var c Check
		daemon, c = serviceUser(s.ServiceUser)
		add(c)
	} else if a, err := lookupAccount(s.Caller.Name); err == nil {
		daemon = a
	}

	cfg, c := loadConfig(s)
	add(c)
	group := ""
	if system {
		group = s.ServiceUser
		if cfg != nil && cfg.Socket.Group != "" {
			group = cfg.Socket.Group
		}
		add(groupExists(group))
	}
	if daemon != nil {
		add(files(s, cfg, daemon)...)
	}

	sock := s.Paths.Socket
	if cfg != nil {
		sock = cfg.Socket.Path
	}
	if s.Socket != "" {
		sock = s.Socket
	}
	sc, dc := socketAndDatabase(ctx, sock, system, group)
	add(sc)
	if dc == nil && s.Database != nil {
		d := s.Database(ctx)
		dc = &d
	}
	if dc != nil {
		add(*dc)
	}
	if system {
		add(membership(group, s.Caller, daemon)...)
	}

	r.OK = true
	for _, c := range r.Checks {
		if c.Status == Fail {
			r.OK = false
		}
	}
	return r
}
