//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/instruktai/teleclaude/internal/apitype"
)

func TestWhoamiAsEachUser(t *testing.T) {
	requireRoot(t)
	d := startDaemon(t, daemonOpts{})
	tests := []struct {
		user       string
		wantPerson string // "" = null
		wantRole   string
	}{
		{uAdmin, "ada", "admin"},
		{uMember, "max", "member"},
		{uPublic, "", "public"},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			acct := lookup(t, tt.user)
			w := decode[apitype.Whoami](t, d.telec(t, acct, "whoami", "--json"))
			gotPerson := ""
			if w.Person != nil {
				gotPerson = *w.Person
			}
			if w.UID != acct.uid || w.OSUsername != tt.user || gotPerson != tt.wantPerson || w.Role != tt.wantRole {
				t.Errorf("whoami as %s = %+v, want uid %d person %q role %s", tt.user, w, acct.uid, tt.wantPerson, tt.wantRole)
			}
			if tt.wantPerson == "" && w.Person != nil {
				t.Errorf("public person = %q, want JSON null", *w.Person)
			}
		})
	}
	// The identity decisions are logged the way pg_hba matches are.
	want := fmt.Sprintf("uid %d (tce-member) → person max (os_username) → member", lookup(t, uMember).uid)
	if !strings.Contains(d.stderr.String(), want) {
		t.Errorf("daemon log lacks %q", want)
	}
}

func TestOutsiderGetsTheGroupFix(t *testing.T) {
	requireRoot(t)
	d := startDaemon(t, daemonOpts{})
	r := d.telec(t, lookup(t, uOutside), "whoami", "--json")
	if r.code != 3 {
		t.Errorf("exit code = %d, want 3 (daemon unreachable)", r.code)
	}
	for _, want := range []string{"permission denied", "tce-sock group", "usermod -aG tce-sock tce-outside", "newgrp tce-sock"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr = %q, want it to contain %q", r.stderr, want)
		}
	}
	// With --json, stdout carries the same as one JSON document.
	var doc struct{ Error, Fix, Code string }
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || doc.Code != "unreachable" || !strings.Contains(doc.Fix, "usermod -aG tce-sock tce-outside") {
		t.Errorf("stdout = %q (%v), want the error as JSON", r.stdout, err)
	}
}

// TestClaimsAreIgnored has a member send every identity claim a client could
// make (headers, query, body) and compares with a plain request.
func TestClaimsAreIgnored(t *testing.T) {
	requireRoot(t)
	d := startDaemon(t, daemonOpts{})
	for _, u := range []string{uMember, uPublic} {
		acct := lookup(t, u)
		r := run(t, &acct, []string{"E2E_HELPER=claims", "E2E_SOCK=" + d.socket}, selfBin)
		if r.code != 0 {
			t.Fatalf("helper as %s: exit %d: %s", u, r.code, r.stderr)
		}
		plain, spoofed, ok := strings.Cut(r.stdout, "\n---\n")
		if !ok || plain == "" || plain != spoofed {
			t.Errorf("as %s the answer changed with claims:\nplain:   %s\nspoofed: %s", u, plain, spoofed)
		}
		if !strings.Contains(plain, `"os_username":"`+u+`"`) {
			t.Errorf("as %s: %s", u, plain)
		}
	}
}

// runHelper is the test binary's other life: a client run as a test user.
func runHelper() int {
	switch os.Getenv("E2E_HELPER") {
	case "flood":
		return floodHelper()
	case "keepalive":
		return keepaliveHelper()
	case "fakedaemon":
		return fakeDaemonHelper()
	case "claims":
		sock := os.Getenv("E2E_SOCK")
		hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		}}}
		get := func(path string, body string, hdr map[string]string) string {
			req, _ := http.NewRequest("GET", "http://teleclaude"+path, strings.NewReader(body))
			for k, v := range hdr {
				req.Header.Set(k, v)
			}
			resp, err := hc.Do(req)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return strings.TrimSpace(string(b))
		}
		plain := get("/v1/whoami", "", nil)
		spoofed := get("/v1/whoami?uid=0&person=ada&role=admin&os_username=root", `{"uid":0,"person":"ada","role":"admin"}`, map[string]string{
			"X-Teleclaude-User": "ada", "X-Teleclaude-Uid": "0", "X-Teleclaude-Role": "admin", "X-Remote-User": "root",
			"X-Forwarded-User": "ada", "Authorization": "Bearer admin", "Cookie": "person=ada; role=admin",
		})
		fmt.Printf("%s\n---\n%s", plain, spoofed)
		return 0
	}
	fmt.Fprintln(os.Stderr, "unknown helper")
	return 2
}

func TestSocketModeAndGroup(t *testing.T) {
	requireRoot(t)
	d := startDaemon(t, daemonOpts{})
	st, err := os.Lstat(d.socket)
	if err != nil {
		t.Fatal(err)
	}
	sys := st.Sys().(*syscall.Stat_t)
	svc, g := lookup(t, svcUser), groupID(t, sockGroup)
	if st.Mode().Perm() != 0o660 || int(sys.Uid) != svc.uid || int(sys.Gid) != g {
		t.Errorf("socket %v uid %d gid %d, want 0660 %s:%s", st.Mode(), sys.Uid, sys.Gid, svcUser, sockGroup)
	}
}

func TestStatus(t *testing.T) {
	requireRoot(t)
	d := startDaemon(t, daemonOpts{})
	s := decode[apitype.Status](t, d.telec(t, lookup(t, uPublic), "status", "--json"))
	if s.Mode != "system" || s.Database.Engine != "sqlite" || s.Database.SchemaVersion < 1 || s.Socket != d.socket || s.Version == "" || s.Computer != "e2e" {
		t.Errorf("status = %+v", s)
	}
	h := run(t, nil, nil, tool(t, "curl"), "-sS", "--unix-socket", d.socket, "http://teleclaude/health")
	if h.code != 0 || !strings.Contains(h.stdout, `"ok"`) {
		t.Errorf("curl /health = %d %s %s", h.code, h.stdout, h.stderr)
	}
}

func groupID(t *testing.T, name string) int {
	t.Helper()
	r := run(t, nil, nil, "/usr/bin/getent", "group", name)
	parts := strings.Split(strings.TrimSpace(r.stdout), ":")
	if len(parts) < 3 {
		t.Fatalf("getent group %s: %q", name, r.stdout)
	}
	var gid int
	fmt.Sscan(parts[2], &gid)
	return gid
}
