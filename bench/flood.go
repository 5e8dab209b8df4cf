package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/instruktai/teleclaude/internal/api"
	"github.com/instruktai/teleclaude/internal/flood"
)

// floodEnv names the socket when this program runs as the flooding member.
const floodEnv = "TELECLAUDE_BENCH_FLOOD_SOCK"

// floodMember is this program as the flooding member: it holds the
// per-uid maximum of connections, dripping their bodies, and prints
// "opened" once they are in place.
func floodMember(sock string) {
	n := api.DefaultLimits.PerUID
	st := flood.Run(sock, n, 12*time.Second, func() { fmt.Println("opened") })
	fmt.Println(st)
}

// floodRow measures an admin's whoami (a new connection per request, as
// each telec makes one), alone and while one member holds the per-uid
// maximum of connections, in the same run. The member is a second uid
// (nobody), so it needs root.
func (b *bench) floodRow(requests int) error {
	label := fmt.Sprintf("admin whoami p50 / p99 while one member holds %d connections (the per-uid maximum)", api.DefaultLimits.PerUID)
	if os.Getuid() != 0 {
		b.row(label, "skipped: needs root, to flood as a second uid", "", "")
		return nil
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		return err
	}
	nuid, _ := strconv.Atoi(nobody.Uid)
	ngid, _ := strconv.Atoi(nobody.Gid)
	dir, err := os.MkdirTemp("", "tc-bench-")
	if err != nil {
		return err
	}
	for _, sub := range []string{"", "etc", "data", "run", "log", "shared"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return err
		}
		os.Chmod(filepath.Join(dir, sub), 0o755)
	}
	// The member runs a copy of this program that it may execute.
	self, err := os.Executable()
	if err != nil {
		return err
	}
	helper := filepath.Join(dir, "flood")
	if err := copyFile(self, helper, 0o755); err != nil {
		return err
	}
	cfg := `people:
  - {name: ada, role: admin, os_username: root}
  - {name: nob, role: member, os_username: nobody}
projects:
  - {name: p0, path: /tmp}
agents:
  shell: {command: ["/bin/sh"]}
socket: {group: root, mode: "0666"}
logging: {level: warn}
`
	if err := os.WriteFile(filepath.Join(dir, "etc", "config.yml"), []byte(cfg), 0o644); err != nil {
		return err
	}
	d, err := b.startIn(dir, []string{"TELECLAUDE_SYSTEM_MODE=1", "TELECLAUDE_CONFIG_DIR=" + filepath.Join(dir, "etc"),
		"TELECLAUDE_DATA_DIR=" + filepath.Join(dir, "data"), "TELECLAUDE_LOG_DIR=" + filepath.Join(dir, "log"),
		"TELECLAUDE_SHARED_DIR=" + filepath.Join(dir, "shared"), "HOME=" + dir})
	if err != nil {
		return err
	}
	defer d.stop()
	if body, err := get(d.sock, "/v1/whoami"); err != nil || !strings.Contains(string(body), `"role":"admin"`) && !strings.Contains(string(body), `"role": "admin"`) {
		return fmt.Errorf("whoami as root is not an admin's: %s %v", body, err)
	}
	alone := load(d.sock, "/v1/whoami", requests, 1, false)

	cmd := exec.Command(helper)
	cmd.Env = []string{floodEnv + "=" + d.sock}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(nuid), Gid: uint32(ngid)}}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	r := bufio.NewReader(out)
	if line, err := r.ReadString('\n'); err != nil || line != "opened\n" {
		cmd.Process.Kill()
		cmd.Wait()
		return fmt.Errorf("flooding member: %q %v", line, err)
	}
	under := load(d.sock, "/v1/whoami", requests, 1, false)
	rest, _ := io.ReadAll(r)
	cmd.Wait()
	b.row(label, ms(under.p50)+" / "+ms(under.p99), "no flood, same run: "+ms(alone.p50)+" / "+ms(alone.p99)+"; member: "+strings.TrimSpace(string(rest)),
		ratio(under.p99, alone.p99))
	return nil
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
