package cli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

func manTree() *cobra.Command {
	root := &cobra.Command{Use: "telec", Short: "Use TeleClaude", Long: "First paragraph.\n\n.Second starts with a dot and has a \\ backslash."}
	root.PersistentFlags().String("socket", "", "daemon `PATH`")
	start := &cobra.Command{Use: "start", Short: "Start one", RunE: func(*cobra.Command, []string) error { return nil }}
	start.Flags().String("project", "", "project name")
	sessions := &cobra.Command{Use: "sessions", Short: "Sessions"}
	sessions.AddCommand(start)
	hidden := &cobra.Command{Use: "secret", Hidden: true, Run: func(*cobra.Command, []string) {}}
	root.AddCommand(sessions, hidden)
	return root
}

func TestWriteMan(t *testing.T) {
	var b bytes.Buffer
	if err := WriteMan(&b, manTree(), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{
		`.TH TELEC 1 "November 2026"`,
		".SH NAME\ntelec \\- Use TeleClaude\n",
		"\\&.Second starts with a dot and has a \\e backslash.",
		`\fB\-\-socket\fR \fIPATH\fR`,
		`.SS "telec sessions start"`,
		`\fB\-\-project\fR \fIstring\fR`,
		`.SS "telec completion bash"`,
		`\fBteleclaude\fR(1)`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, "secret") {
		t.Errorf("hidden command documented:\n%s", page)
	}
}

// TestManRenders has man(1) render the page with warnings on, as lintian
// does: no warning may come out.
func TestManRenders(t *testing.T) {
	man, err := exec.LookPath("man")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("no man (Debian package man-db); .ci/run should have installed it")
		}
		t.Skip("no man")
	}
	path := filepath.Join(t.TempDir(), "telec.1")
	var b bytes.Buffer
	if err := WriteMan(&b, manTree(), time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(man, "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z", path)
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8", "MANWIDTH=80")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Errorf("man: %v: %s", err, stderr.String())
	}
}
