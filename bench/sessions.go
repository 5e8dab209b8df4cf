package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"time"

	"github.com/instruktai/teleclaude/internal/store"
)

// sessions measures listing: telec sessions list as a whole process with
// 1,000 visible sessions, the list API under load against a bare handler
// serving the same bytes, and a member's list in a database of 100,000.
func (b *bench) sessions(runs, requests, clients int) error {
	me, err := user.Current()
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(me.Uid)
	telec := filepath.Join(b.bin, "telec")

	// Single-user: the daemon's own user is admin and sees all 1,000.
	dir, err := os.MkdirTemp("", "tc-bench-")
	if err != nil {
		return err
	}
	if err := populate(filepath.Join(dir, ".teleclaude", "teleclaude.db"), 1000, 1000, uid); err != nil {
		return err
	}
	if err := b.uncached(filepath.Join(dir, ".teleclaude", "teleclaude.db"), "admin's list, 1,000 sessions", nil); err != nil {
		return err
	}
	d, err := b.startIn(dir, []string{"TELECLAUDE_SYSTEM_MODE=0", "HOME=" + dir})
	if err != nil {
		return err
	}
	tl, err := timeProcess(runs, d.env, telec, "sessions", "list")
	if err != nil {
		d.stop()
		return err
	}
	tj, err := timeProcess(runs, d.env, telec, "sessions", "list", "--json")
	if err != nil {
		d.stop()
		return err
	}
	if curl, err := exec.LookPath("curl"); err == nil {
		cw, err := timeProcess(runs, d.env, curl, "-s", "--unix-socket", d.sock, "http://teleclaude/v1/sessions")
		if err != nil {
			d.stop()
			return err
		}
		b.row("telec sessions list, 1,000 visible, whole process (median)", ms(median(tl)), "curl, same request: "+ms(median(cw)), ratio(median(tl), median(cw)))
	} else {
		b.row("telec sessions list, 1,000 visible, whole process (median)", ms(median(tl)), "(no curl)", "")
	}
	b.row("telec sessions list --json, 1,000 visible (median)", ms(median(tj)), "", "")
	if err := b.listLoad(d.sock, "admin's list, 1,000 sessions", requests/4, clients); err != nil {
		d.stop()
		return err
	}
	d.stop()

	// System mode, the caller a member with 20 sessions among 1,000, then
	// among 100,000.
	for _, total := range []int{1000, 100000} {
		d, err := b.startMember(me, uid, total)
		if err != nil {
			return err
		}
		label := fmt.Sprintf("member's list, 20 of %s sessions", thousands(total))
		owner := int64(uid)
		if err := b.uncached(filepath.Join(d.dir, "data", "teleclaude.db"), label, &owner); err != nil {
			d.stop()
			return err
		}
		if err := b.listLoad(d.sock, label, requests, clients); err != nil {
			d.stop()
			return err
		}
		tm, err := timeProcess(runs, d.env, telec, "sessions", "list")
		if err != nil {
			d.stop()
			return err
		}
		b.row(fmt.Sprintf("telec sessions list, %s, whole process (median)", label), ms(median(tm)), "", "")
		d.stop()
	}
	return nil
}

// listLoad puts GET /v1/sessions under load and compares it with a bare
// handler answering the same bytes.
func (b *bench) listLoad(sock, label string, requests, clients int) error {
	body, err := get(sock, "/v1/sessions")
	if err != nil {
		return err
	}
	api := load(sock, "/v1/sessions", requests, clients, true)
	bare, stop, err := bareServer(body)
	if err != nil {
		return err
	}
	ref := load(bare, "/v1/sessions", requests, clients, true)
	stop()
	b.row(fmt.Sprintf("API GET /v1/sessions, %s, %d clients (req/s)", label, clients), fmt.Sprintf("%.0f", api.rps),
		fmt.Sprintf("bare Go handler, same %d bytes: %.0f", len(body), ref.rps), fmt.Sprintf("%.2f×", api.rps/ref.rps))
	b.row(fmt.Sprintf("API GET /v1/sessions, %s, p50 / p99", label), ms(api.p50)+" / "+ms(api.p99), "bare: "+ms(ref.p50)+" / "+ms(ref.p99), "")
	return nil
}

// startMember runs a system-mode daemon whose config maps the bench's own
// account to a member, over a database of total sessions of which 20 are
// that member's.
func (b *bench) startMember(me *user.User, uid, total int) (*daemonProc, error) {
	dir, err := os.MkdirTemp("", "tc-bench-")
	if err != nil {
		return nil, err
	}
	for _, sub := range []string{"etc", "data", "run", "log", "shared"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, err
		}
	}
	if err := populate(filepath.Join(dir, "data", "teleclaude.db"), total, 20, uid); err != nil {
		return nil, err
	}
	g, err := user.LookupGroupId(me.Gid)
	if err != nil {
		return nil, err
	}
	cfg := fmt.Sprintf(`people:
  - {name: bench, role: member, os_username: %q}
projects:
  - {name: p0, path: /tmp}
agents:
  shell: {command: ["/bin/sh"]}
socket: {group: %q, mode: "0600"}
logging: {level: warn}
`, me.Username, g.Name)
	if err := os.WriteFile(filepath.Join(dir, "etc", "config.yml"), []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	return b.startIn(dir, []string{"TELECLAUDE_SYSTEM_MODE=1", "TELECLAUDE_CONFIG_DIR=" + filepath.Join(dir, "etc"),
		"TELECLAUDE_DATA_DIR=" + filepath.Join(dir, "data"), "TELECLAUDE_LOG_DIR=" + filepath.Join(dir, "log"),
		"TELECLAUDE_SHARED_DIR=" + filepath.Join(dir, "shared"), "HOME=" + dir})
}

// populate creates a SQLite database with total finished sessions in ten
// projects, mine of them owned by uid and the rest by a thousand others.
func populate(path string, total, mine, uid int) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	ctx := context.Background()
	s, err := store.Open(ctx, store.Config{Engine: store.SQLite, Path: path})
	if err != nil {
		return err
	}
	defer s.Close()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	batch := make([]*store.Session, 0, total)
	for i := 0; i < total; i++ {
		owner, person := int64(2000+i%1000), "p"+strconv.Itoa(i%1000)
		if i%(total/mine) == 0 {
			owner, person = int64(uid), "bench"
		}
		code := i % 3
		ended := t0.Add(time.Duration(i)*time.Minute + 30*time.Second)
		batch = append(batch, &store.Session{
			ID: fmt.Sprintf("s%09d", i), OwnerPerson: &person, OwnerUID: &owner, Project: "p" + strconv.Itoa(i%10),
			ProjectPath: "/srv/projects/p" + strconv.Itoa(i%10), Agent: "shell", Title: "session number " + strconv.Itoa(i),
			Status: "exited", ExitCode: &code, CreatedAt: t0.Add(time.Duration(i) * time.Minute), EndedAt: &ended,
		})
	}
	return s.CreateSessions(ctx, batch)
}

func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// uncached times what a list costs when the cache cannot answer (the first
// list after a change): the store's query and the JSON encoding, in
// process, median of 200.
func (b *bench) uncached(path, label string, owner *int64) error {
	ctx := context.Background()
	s, err := store.Open(ctx, store.Config{Engine: store.SQLite, Path: path}, store.WithoutLock())
	if err != nil {
		return err
	}
	defer s.Close()
	var ds []time.Duration
	for i := 0; i < 200; i++ {
		t0 := time.Now()
		ss, err := s.ListSessions(ctx, store.SessionFilter{OwnerUID: owner})
		if err != nil {
			return err
		}
		if _, err := json.Marshal(ss); err != nil {
			return err
		}
		ds = append(ds, time.Since(t0))
	}
	b.row(fmt.Sprintf("list without the cache (store + JSON), %s (median)", label), ms(median(ds)), "", "")
	return nil
}
