package cli

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// ManSectionsRequired are the sections every program's page must have.
var ManSectionsRequired = []string{"NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "FILES", "ENVIRONMENT", "EXIT STATUS", "CONFIGURATION", "EXAMPLES"}

// CheckMan writes root's page and reports what is wrong with it: a
// missing section, a command not documented, powershell offered, or (when
// man(1) is installed, as lintian has it) a warning when it renders.
func CheckMan(root *cobra.Command, dir string) []string {
	Prepare(root)
	var b bytes.Buffer
	if err := WriteMan(&b, root, time.Now()); err != nil {
		return []string{err.Error()}
	}
	page := b.String()
	var bad []string
	for _, s := range ManSectionsRequired {
		if !strings.Contains(page, fmt.Sprintf(".SH %s\n", s)) && !strings.Contains(page, fmt.Sprintf(".SH %q\n", s)) {
			bad = append(bad, "no section "+s)
		}
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if !sub.IsAvailableCommand() {
				continue
			}
			if !strings.Contains(page, fmt.Sprintf(".SS %q\n", sub.CommandPath())) {
				bad = append(bad, "command not documented: "+sub.CommandPath())
			}
			walk(sub)
		}
	}
	walk(root)
	if strings.Contains(page, "powershell") {
		bad = append(bad, "powershell is offered")
	}
	man, err := exec.LookPath("man")
	if err != nil {
		return bad
	}
	path := filepath.Join(dir, root.Name()+".1")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return append(bad, err.Error())
	}
	cmd := exec.Command(man, "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z", path)
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8", "MANWIDTH=80")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		bad = append(bad, fmt.Sprintf("man: %v: %s", err, stderr.String()))
	}
	return bad
}
