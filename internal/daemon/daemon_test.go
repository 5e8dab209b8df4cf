package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLogFileIn(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "Library", "Logs", "TeleClaude")
	f, err := logFileIn(dir)
	if err != nil {
		t.Fatal(err)
	}
	if f != filepath.Join(dir, "teleclaude.log") {
		t.Errorf("log file %s", f)
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o750 {
		t.Errorf("log directory: %v %v, want it created 0750", st, err)
	}
	blocker := filepath.Join(t.TempDir(), "file")
	os.WriteFile(blocker, nil, 0o600)
	if _, err := logFileIn(filepath.Join(blocker, "logs")); err == nil || !strings.Contains(err.Error(), "TELECLAUDE_LOG_DIR") {
		t.Errorf("err = %v, want one naming TELECLAUDE_LOG_DIR", err)
	}
}
