//go:build linux

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/instruktai/teleclaude/internal/flood"
)

// floodConns is how many connections the flooding member tries to hold:
// far above the per-uid cap (32), far below any open-file limit.
const floodConns = 300

// TestFloodOneMember has a member open many connections, each sending
// headers that promise a large body and then dripping it a byte a second.
// An admin's whoami must still be answered promptly, the daemon's
// descriptors must stay bounded, connections over the member's share must be
// refused with an answer, and the held ones closed by the read deadline.
func TestFloodOneMember(t *testing.T) {
	requireRoot(t)
	d := startDaemon(t, daemonOpts{})
	admin, member := lookup(t, uAdmin), lookup(t, uMember)
	pid := d.cmd.Process.Pid
	before := fdCount(t, pid)

	cmd := exec.Command(selfBin)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "E2E_HELPER=flood", "E2E_SOCK=" + d.socket, "E2E_N=" + strconv.Itoa(floodConns), "E2E_HOLD=25s"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: member.cred}
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	waitFor(t, func() bool { return strings.Contains(out.String(), "opened\n") })

	// The flood is in place: every connection it could get is held.
	start := time.Now()
	r := d.telec(t, admin, "whoami", "--json")
	took := time.Since(start)
	if r.code != 0 || !strings.Contains(r.stdout, `"role": "admin"`) {
		t.Fatalf("admin whoami during the flood: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if took > 3*time.Second {
		t.Errorf("admin whoami during the flood took %s, want under 3s", took)
	}
	// Another member is a different uid, with a share of their own.
	if r := d.telec(t, lookup(t, uMember2), "whoami", "--json"); r.code != 0 {
		t.Errorf("second member during the flood: exit %d: %s", r.code, r.stderr)
	}
	// And the flooding member, over their share, is told why.
	r = d.telec(t, member, "whoami")
	if r.code == 0 || !strings.Contains(r.stderr, "connections") {
		t.Errorf("flooding member's own whoami: exit %d, stderr %q; want a refusal naming the connection limit", r.code, r.stderr)
	}
	during := fdCount(t, pid)
	if during-before > 32+16 {
		t.Errorf("daemon descriptors: %d before, %d during a flood of %d connections; want at most the per-uid cap (32) more", before, during, floodConns)
	}

	if err := <-done; err != nil {
		t.Fatalf("flood helper: %v\n%s", err, out.String())
	}
	stats := out.String()
	t.Logf("flood: %s", strings.TrimSpace(stats))
	var opened, held, refused, closedEarly int
	for _, line := range strings.Split(stats, "\n") {
		fmt.Sscanf(line, "held=%d refused429=%d closed_by_daemon=%d opened=%d", &held, &refused, &closedEarly, &opened)
	}
	if refused < floodConns-32-4 {
		t.Errorf("%d of %d connections were refused with 429; want all over the per-uid cap (32)", refused, floodConns)
	}
	if held > 32 {
		t.Errorf("the member held %d connections, over the per-uid cap of 32", held)
	}
	if closedEarly < held {
		t.Errorf("the daemon closed %d of %d dripping connections within the hold; want all (read deadline)", closedEarly, held)
	}
	// The daemon notices the helper's closes as it reads them.
	deadline := time.Now().Add(10 * time.Second)
	for fdCount(t, pid)-before > 4 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if after := fdCount(t, pid); after-before > 4 {
		t.Errorf("daemon descriptors: %d before the flood, %d after it ended", before, after)
	}
}

func fdCount(t *testing.T, pid int) int {
	t.Helper()
	es, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}

// floodHelper runs internal/flood as the member it was started as: E2E_N
// connections to E2E_SOCK, dripping for E2E_HOLD. It prints "opened" once
// all are open, then what the flood saw.
func floodHelper() int {
	n, _ := strconv.Atoi(os.Getenv("E2E_N"))
	hold, _ := time.ParseDuration(os.Getenv("E2E_HOLD"))
	st := flood.Run(os.Getenv("E2E_SOCK"), n, hold, func() { fmt.Println("opened") })
	fmt.Println(st)
	return 0
}

// TestDemotionReachesOpenConnections keeps an admin's connection open
// across a SIGHUP that demotes them: the next request on it is a member's.
func TestDemotionReachesOpenConnections(t *testing.T) {
	requireRoot(t)
	d := startDaemon(t, daemonOpts{})
	admin := lookup(t, uAdmin)
	cmd := exec.Command(selfBin)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "E2E_HELPER=keepalive", "E2E_SOCK=" + d.socket}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: admin.cred}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitFor(t, func() bool { return strings.Contains(out.String(), "first=") })
	if !strings.Contains(out.String(), "first=200") {
		t.Fatalf("admin's first audit read: %s", out.String())
	}

	d.writeConfig(t, strings.Replace(stdConfig, "{name: ada, role: admin,", "{name: ada, role: member,", 1))
	d.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, func() bool { return strings.Contains(d.stderr.String(), "reloaded ") })
	fmt.Fprintln(stdin, "go")
	waitFor(t, func() bool { return strings.Contains(out.String(), "second=") })
	got := out.String()
	if !strings.Contains(got, "reused=true") {
		t.Fatalf("the helper did not keep its connection: %s", got)
	}
	if !strings.Contains(got, "second=403") {
		t.Errorf("a demoted admin's kept-alive connection still reads the audit log: %s", got)
	}
}

// keepaliveHelper reads /v1/audit twice over one kept-alive connection,
// the second time after a line arrives on stdin.
func keepaliveHelper() int {
	sock := os.Getenv("E2E_SOCK")
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConns: 1, IdleConnTimeout: time.Hour,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		}}}
	get := func() (int, bool) {
		var reused bool
		ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }})
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://teleclaude/v1/audit", nil)
		resp, err := hc.Do(req)
		if err != nil {
			fmt.Println("error:", err)
			return 0, false
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, reused
	}
	code, _ := get()
	fmt.Printf("first=%d\n", code)
	bufio.NewReader(os.Stdin).ReadString('\n')
	code, reused := get()
	fmt.Printf("second=%d reused=%v\n", code, reused)
	return 0
}
