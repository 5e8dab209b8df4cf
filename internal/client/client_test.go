package client

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestAdviceNamesThePlatformsCommands: a Mac user is told about launchctl
// and dseditgroup, a Linux user about systemctl and usermod.
func TestAdviceNamesThePlatformsCommands(t *testing.T) {
	tests := []struct {
		goos, group      string
		start, join, log string
	}{
		{"darwin", "_teleclaude", "sudo launchctl kickstart system/ai.instrukt.teleclaude",
			"`sudo dseditgroup -o edit -a alice -t user _teleclaude`, then log out and in again", "`sudo tail -n 50 /Library/Logs/TeleClaude/teleclaude.log`"},
		{"linux", "teleclaude", "sudo systemctl start teleclaude",
			"`sudo usermod -aG teleclaude alice`, then log in again (or run `newgrp teleclaude`)", "`sudo journalctl -u teleclaude -e`"},
	}
	for _, tt := range tests {
		t.Run(tt.goos, func(t *testing.T) {
			a := adviceFor(tt.goos)
			// A socket we cannot examine is taken to be the service group's.
			if g, _ := socketGroup(filepath.Join(t.TempDir(), "missing"), tt.goos); g != tt.group {
				t.Errorf("socketGroup guesses %q, want %q", g, tt.group)
			}
			if join := fmt.Sprintf(a.join, tt.group, "alice"); join != tt.join {
				t.Errorf("join = %q, want %q", join, tt.join)
			}
			if a.logsCmd != tt.log {
				t.Errorf("logs = %q, want %q", a.logsCmd, tt.log)
			}
			c := New(filepath.Join(t.TempDir(), "no.sock"), true)
			c.goos = tt.goos
			err := c.Get(context.Background(), "/v1/whoami", nil)
			var ue *UnreachableError
			if !errors.As(err, &ue) || !strings.Contains(ue.Fix, tt.start) {
				t.Errorf("err = %v, want advice containing %q", err, tt.start)
			}
		})
	}
}
