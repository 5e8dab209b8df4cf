package sessionhost

import (
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/instruktai/teleclaude/internal/testenv"
)

// TestRefuseCapabilities: a host or launcher started with capabilities by
// an ordinary user (file capabilities on the program) refuses to run.
func TestRefuseCapabilities(t *testing.T) {
	testenv.Root(t, "giving a child capabilities")
	_, self := shared(t)
	for _, tt := range []struct {
		caps []uintptr
		want string
	}{
		{nil, "<nil>"},
		{[]uintptr{10 /* CAP_NET_BIND_SERVICE */}, "runs with capabilities as uid 65534"},
	} {
		cmd := exec.Command(self, "refuse-capabilities")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}, AmbientCaps: tt.caps}
		out, err := cmd.Output()
		if err != nil || !strings.Contains(string(out), tt.want) {
			t.Errorf("with capabilities %v: %q, %v; want %q", tt.caps, out, err, tt.want)
		}
	}
}

// TestShedCapabilities: a host started with capabilities as an ordinary
// user, as a daemon without systemd starts it (ambient CAP_SETUID and
// CAP_SETGID survive the change of uid), holds none once it runs, on every
// thread, in a build with or without cgo, and its marker does not stay in
// the environment that tmux and the sessions get.
func TestShedCapabilities(t *testing.T) {
	testenv.Root(t, "giving a child capabilities")
	_, self := shared(t)
	const none = "<nil> CapInh:0000000000000000 CapPrm:0000000000000000 CapEff:0000000000000000 CapAmb:0000000000000000 true"
	for _, caps := range [][]uintptr{nil, {6, 7} /* CAP_SETGID, CAP_SETUID */, {10 /* CAP_NET_BIND_SERVICE */}} {
		cmd := exec.Command(self, "shed-capabilities")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}, AmbientCaps: caps}
		out, err := cmd.Output()
		if err != nil || strings.TrimSpace(string(out)) != none {
			t.Errorf("with capabilities %v: %q, %v; want %q", caps, out, err, none)
		}
	}
}
