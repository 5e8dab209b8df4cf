package pkgtest

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestComposeConfig validates docker-compose.system.yml with Debian's
// docker-compose (no Docker engine runs here, so nothing is started), and
// that it insists on the host's teleclaude uid and gid.
func TestComposeConfig(t *testing.T) {
	compose := tool(t, "docker-compose", "docker-compose")
	root := filepath.Join("..", "..")
	run := func(env ...string) (string, error) {
		cmd := exec.Command(compose, "-f", "docker-compose.system.yml", "config", "-q")
		cmd.Dir = root
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir()}, env...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := run("TELECLAUDE_UID=990", "TELECLAUDE_GID=990"); err != nil {
		t.Errorf("docker-compose config: %v\n%s", err, out)
	}
	out, err := run()
	if err == nil || !strings.Contains(out, "set TELECLAUDE_UID") {
		t.Errorf("without TELECLAUDE_UID: err %v, output %q; want a refusal that names the variable", err, out)
	}
}

// TestDockerfileSources: every file the Dockerfile copies from the build
// context exists (docker build itself cannot run here).
func TestDockerfileSources(t *testing.T) {
	root := filepath.Join("..", "..")
	f, err := os.Open(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 3 || fields[0] != "COPY" || strings.HasPrefix(fields[1], "--from") {
			continue
		}
		for _, src := range fields[1 : len(fields)-1] {
			n++
			if _, err := os.Stat(filepath.Join(root, src)); err != nil {
				t.Errorf("Dockerfile copies %s: %v", src, err)
			}
		}
	}
	if n == 0 {
		t.Error("no COPY from the build context found")
	}
}
