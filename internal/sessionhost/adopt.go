package sessionhost

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/instruktai/teleclaude/internal/fileown"
	"github.com/sirupsen/logrus"
)

// When the run directory is emptied under running sessions (rm -rf, a tmp
// cleaner), the host and the tmux server of each owner keep running with
// their sockets gone: nobody can reach them, and a new host would start a
// second, empty tmux server and the sessions would be lost while their
// programs run on. A new host therefore takes over what the last one left:
// it retires an earlier host of its directory and has the tmux server make
// its socket again (tmux does that on SIGUSR1), so the sessions are found
// and recorded on. Processes are found in /proc: of our own uid only (all
// a host may signal anyway), and only those whose command line names this
// directory's paths.

// ownProcs lists the processes of uid with their command lines (Linux;
// none elsewhere).
func ownProcs(uid int) map[int][]string {
	out := map[int][]string{}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return out
	}
	self := os.Getpid()
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		st, err := os.Stat(filepath.Join("/proc", e.Name()))
		if err != nil {
			continue
		}
		if own, ok := fileown.Of(st); !ok || own.UID != uid {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(b) == 0 {
			continue
		}
		out[pid] = splitArgs(b)
	}
	return out
}

func splitArgs(b []byte) []string {
	var args []string
	for _, a := range bytes.Split(bytes.TrimRight(b, "\x00"), []byte{0}) {
		args = append(args, string(a))
	}
	return args
}

// hasPair reports whether args hold flag followed by value.
func hasPair(args []string, flag, value string) bool {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == flag && args[i+1] == value {
			return true
		}
	}
	return false
}

// retireOthers ends any other host of this directory: one is only started
// when none answers on the socket, so another one still running has lost
// its socket. It is asked to stop and waited for (closing its listener
// would remove ours were we listening already); its tmux server stays.
func (h *host) retireOthers() {
	for pid, args := range ownProcs(h.uid) {
		if len(args) < 2 || args[1] != "session-host" || !hasPair(args, "--dir", h.o.Dir) {
			continue
		}
		logrus.WithFields(logrus.Fields{"pid": pid, "dir": h.o.Dir}).Warn("session host: an earlier host of this directory runs without its socket (was the run directory removed?); stopping it and taking over its sessions")
		syscall.Kill(pid, syscall.SIGTERM)
		for deadline := time.Now().Add(3 * time.Second); processAlive(pid) && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
		}
		if processAlive(pid) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

func processAlive(pid int) bool {
	// A zombie (an earlier host this one's parent has yet to reap) is gone.
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) {
		return b[i+2] != 'Z'
	}
	return true
}

// adoptTmux has a tmux server of ours that lost its socket make it again,
// and waits for it to answer; nothing happens when the socket is there or
// no such server runs.
func (h *host) adoptTmux(ctx context.Context) {
	for _, pid := range h.socketlessTmux() {
		log := logrus.WithFields(logrus.Fields{"pid": pid, "socket": h.srv.Socket})
		if err := syscall.Kill(pid, syscall.SIGUSR1); err != nil {
			log.WithError(err).Warn("session host: cannot ask a tmux server that lost its socket to make it again")
			continue
		}
		for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline) && ctx.Err() == nil; time.Sleep(20 * time.Millisecond) {
			if got, err := h.srv.PID(ctx); err == nil && got == pid {
				log.Warn("session host: the tmux server had lost its socket (was the run directory removed?); it made it again and its sessions are kept")
				return
			}
		}
		log.Warn("session host: a tmux server that lost its socket did not make it again")
	}
}

// socketlessTmux lists the tmux servers of ours that run on this
// directory's socket path while the socket itself is gone: their sessions
// may be alive, and nobody can ask them.
func (h *host) socketlessTmux() []int {
	if _, err := os.Lstat(h.srv.Socket); err == nil {
		return nil
	}
	var pids []int
	for pid, args := range ownProcs(h.uid) {
		if len(args) > 0 && filepath.Base(args[0]) == "tmux" && hasPair(args, "-S", h.srv.Socket) {
			pids = append(pids, pid)
		}
	}
	return pids
}
