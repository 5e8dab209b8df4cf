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
