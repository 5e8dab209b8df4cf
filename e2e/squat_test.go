//go:build linux

package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// evil is what a fake daemon answers: an OSC 52 clipboard write, a window
// title, a screen clear and a bidi override, in every string it can.
const evil = "\x1b]52;c;aWQgPiAvdG1wL3B3bmVk\x07\x1b]0;owned\x07\x1b[2J\u202e"

// squat starts a fake daemon as acct on sock (its directory made by acct
// beforehand) and returns a function reporting how many connections it
// accepted.
func squat(t *testing.T, acct account, dir string, dirMode os.FileMode, tmuxSock string) func() int {
	t.Helper()
	if err := os.Mkdir(dir, dirMode); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, dirMode)
	os.Chown(dir, acct.uid, acct.gid)
	cmd := exec.Command(selfBin)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "E2E_HELPER=fakedaemon", "E2E_SOCK=" + filepath.Join(dir, "teleclaude.sock"), "E2E_TMUX=" + tmuxSock}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: acct.cred}
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitFor(t, func() bool { return strings.Contains(out.String(), "listening\n") })
	return func() int { return strings.Count(out.String(), "conn\n") }
}

// fakeTmux puts a tmux in a fresh directory that leaves a mark when run.
func fakeTmux(t *testing.T) (binDir, mark string) {
	t.Helper()
	binDir = sharedDir(t, "bin-")
	mark = filepath.Join(sharedDir(t, "mark-"), "tmux-ran")
	os.Chmod(filepath.Dir(mark), 0o777)
	script := "#!/bin/sh\ntouch " + mark + "\n"
	if err := os.WriteFile(filepath.Join(binDir, "tmux"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return binDir, mark
}

// TestSquattedRunDirectory: with no XDG_RUNTIME_DIR, a single-user telec
// looks in /tmp/teleclaude-UID. Another user made that directory first and
// serves a fake daemon there: telec sends it nothing, says why, and attach
// never runs tmux.
func TestSquattedRunDirectory(t *testing.T) {
	requireRoot(t)
	victim, attacker := lookup(t, uMember), lookup(t, uMember2)
	dir := "/tmp/teleclaude-" + strconv.Itoa(victim.uid)
	os.RemoveAll(dir)
	binDir, mark := fakeTmux(t)
	conns := squat(t, attacker, dir, 0o755, filepath.Join(dir, "tmux.sock"))

	env := []string{"PATH=" + binDir + ":/usr/bin:/bin"}
	for _, args := range [][]string{{"whoami"}, {"sessions", "attach", "s-1"}, {"sessions", "send", "s-1", "rm -rf ~"}} {
		r := run(t, &victim, env, telecBin, args...)
		if r.code != 3 {
			t.Errorf("telec %v against a squatted directory: exit %d, want 3\nstdout: %q\nstderr: %q", args, r.code, r.stdout, r.stderr)
		}
		want := fmt.Sprintf("belongs to uid %d (%s), not to you (uid %d)", attacker.uid, uMember2, victim.uid)
		if !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "nothing was sent") {
			t.Errorf("telec %v: stderr %q, want it to say %q", args, r.stderr, want)
		}
	}
	if n := conns(); n != 0 {
		t.Errorf("the fake daemon was sent %d connections", n)
	}
	if _, err := os.Stat(mark); err == nil {
		t.Error("attach ran tmux against the squatter's directory")
	}
}

// TestFakeDaemonIsShownNotObeyed: the directory is the victim's own, and
// what answers there says anything it likes: every escape sequence and
// bidi override reaches the terminal written out, and an attach answer
// naming a tmux server outside the directory is refused.
func TestFakeDaemonIsShownNotObeyed(t *testing.T) {
	requireRoot(t)
	victim, attacker := lookup(t, uMember), lookup(t, uMember2)
	dir := "/tmp/teleclaude-" + strconv.Itoa(victim.uid)
	os.RemoveAll(dir)
	binDir, mark := fakeTmux(t)
	// The attacker's tmux socket, which the fake daemon names.
	evilDir := sharedDir(t, "evil-")
	os.Chown(evilDir, attacker.uid, attacker.gid)
	evilSock := filepath.Join(evilDir, "tmux.sock")
	ln, err := net.Listen("unix", evilSock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	os.Chown(evilSock, attacker.uid, attacker.gid)
	squat(t, victim, dir, 0o700, evilSock)

	env := []string{"PATH=" + binDir + ":/usr/bin:/bin"}
	for _, args := range [][]string{{"whoami"}, {"sessions", "show", "s-1"}, {"sessions", "end", "s-1"}} {
		r := run(t, &victim, env, telecBin, args...)
		if strings.ContainsAny(r.stdout+r.stderr, "\x1b\x07\u202e") {
			t.Errorf("telec %v passed raw escapes to the terminal:\nstdout: %q\nstderr: %q", args, r.stdout, r.stderr)
		}
		if !strings.Contains(r.stdout+r.stderr, `\x1b]52;c;`) {
			t.Errorf("telec %v does not show what it was sent:\nstdout: %q\nstderr: %q", args, r.stdout, r.stderr)
		}
	}
	r := run(t, &victim, env, telecBin, "sessions", "attach", "s-1")
	if r.code == 0 || !strings.Contains(r.stderr, "outside its own directory") {
		t.Errorf("attach to a tmux server outside the daemon's directory: exit %d, stderr %q", r.code, r.stderr)
	}
	if _, err := os.Stat(mark); err == nil {
		t.Error("attach ran tmux against a server the fake daemon named")
	}
}

// fakeDaemonHelper serves E2E_SOCK as a hostile daemon would: every answer
// carries escape sequences; attach names E2E_TMUX. It prints "conn" for
// every connection it accepts.
func fakeDaemonHelper() int {
	sock := os.Getenv("E2E_SOCK")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	os.Chmod(sock, 0o777)
	fmt.Println("listening")
	for {
		c, err := ln.Accept()
		if err != nil {
			return 1
		}
		fmt.Println("conn")
		go func(c net.Conn) {
			defer c.Close()
			br := bufio.NewReader(c)
			for {
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				var body string
				status := 200
				switch {
				case req.URL.Path == "/v1/whoami":
					body = fmt.Sprintf(`{"uid":1,"os_username":"root","person":"ada","role":"admin","reason":%s}`, js(evil))
				case strings.HasSuffix(req.URL.Path, "/attach"):
					body = fmt.Sprintf(`{"socket":%s,"target":"x"}`, js(os.Getenv("E2E_TMUX")))
				case req.Method == "GET":
					body = fmt.Sprintf(`{"id":"s-1","project":"p","agent":"a","status":"running","title":%s}`, js(evil))
				default:
					status, body = 403, fmt.Sprintf(`{"error":%s,"code":"forbidden"}`, js("refused "+evil))
				}
				fmt.Fprintf(c, "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", status, len(body), body)
			}
		}(c)
	}
}

func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
