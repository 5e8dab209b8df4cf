package doctor

import (
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/instruktai/teleclaude/internal/config"
)

// Setups that cannot work are not passed: nobody configured, a person
// outside the socket's group, a project directory that is not there.
func TestPeopleAndProjects(t *testing.T) {
	if _, err := user.Lookup("nobody"); err != nil {
		t.Skip("no account nobody here")
	}
	cfg := &config.Config{File: "/etc/teleclaude/config.yml"}
	if c := people(cfg, "root"); c.Status != Warn || !strings.Contains(c.Detail, "people: is empty") || c.Fix == "" {
		t.Errorf("no people: %+v", c)
	}
	cfg.People = []config.Person{{Name: "ada", OSUsername: "root"}, {Name: "max", OSUsername: "nobody"}}
	c := people(cfg, "root")
	if c.Status != Warn || !strings.Contains(c.Detail, "max (nobody)") || strings.Contains(c.Detail, "ada") || !strings.Contains(c.Fix, "usermod -aG root nobody") {
		t.Errorf("a person outside the group: %+v", c)
	}
	cfg.People = cfg.People[:1]
	if c := people(cfg, "root"); c.Status != Pass {
		t.Errorf("everyone in the group: %+v", c)
	}
	gone := filepath.Join(t.TempDir(), "gone")
	cfg.Projects = []config.Project{{Name: "web", Path: gone}}
	if c := projects(cfg); c.Status != Warn || !strings.Contains(c.Detail, gone+" does not exist") {
		t.Errorf("missing project directory: %+v", c)
	}
	cfg.Projects = nil
	if c := projects(cfg); c.Status != Warn {
		t.Errorf("no projects: %+v", c)
	}
}
