package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/instruktai/teleclaude/internal/apitype"
	"github.com/instruktai/teleclaude/internal/cputime"
	"github.com/instruktai/teleclaude/internal/store"
)

// starts measures session starts through the API (POST /v1/sessions,
// answered once the session runs) at 1, 10 and 50 at once, against a
// single-user daemon on SQLite whose agent is cat.
func (b *bench) starts() error {
	tmuxBin, err := exec.LookPath("tmux")
	if err != nil {
		b.row("session starts", "(no tmux)", "", "")
		return nil
	}
	d, dir, err := b.sessionDaemon("sqlite", "")
	if err != nil {
		return err
	}
	defer d.stop()
	defer killUserTmux(tmuxBin, dir)
	hc := client(d.sock)
	// The first start also starts the user's session host: not counted.
	if id, _, err := startOne(hc, "cat"); err != nil {
		return err
	} else {
		endOne(hc, id)
	}
	for _, c := range []struct{ at, rounds int }{{1, 30}, {10, 5}, {50, 2}} {
		var mu sync.Mutex
		var lat []time.Duration
		failed := 0
		why := map[string]int{} // refusals by their code
		for range c.rounds {
			var ids []string
			var wg sync.WaitGroup
			for range c.at {
				wg.Add(1)
				go func() {
					defer wg.Done()
					id, took, err := startOne(hc, "cat")
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						failed++
						why[refusal(err)]++
						return
					}
					lat = append(lat, took)
					ids = append(ids, id)
				}()
			}
			wg.Wait()
			for _, id := range ids {
				endOne(hc, id)
			}
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		if len(lat) == 0 {
			b.row(fmt.Sprintf("session start, %d at once", c.at), "(all failed)", "", "")
			continue
		}
		note := ""
		if failed > 0 {
			var ws []string
			for w, n := range why {
				ws = append(ws, fmt.Sprintf("%d %s", n, w))
			}
			sort.Strings(ws)
			note = fmt.Sprintf("%d of %d refused (%s)", failed, failed+len(lat), strings.Join(ws, ", "))
		}
		b.row(fmt.Sprintf("session start, %d at once, p50 / p99 (%d starts)", c.at, len(lat)), ms(lat[len(lat)/2])+" / "+ms(lat[len(lat)*99/100]), note, "")
	}
	return nil
}

// sessionDaemon starts a single-user daemon on engine in a tree of its own
// with a project and two agents: cat, and flood (the recording's 20 MiB).
func (b *bench) sessionDaemon(engine, dsn string) (*daemonProc, string, error) {
	d, dir, _, err := b.sessionDaemonDB(engine, dsn)
	return d, dir, err
}

// sessionDaemonDB is sessionDaemon, also saying where its database is.
func (b *bench) sessionDaemonDB(engine, dsn string) (*daemonProc, string, store.Config, error) {
	var db store.Config
	dir, err := os.MkdirTemp("", "tc-bench-")
	if err != nil {
		return nil, "", db, err
	}
	proj := filepath.Join(dir, "proj")
	if err := os.MkdirAll(filepath.Join(dir, ".teleclaude"), 0o700); err != nil {
		return nil, "", db, err
	}
	if err := os.MkdirAll(proj, 0o755); err != nil {
		return nil, "", db, err
	}
	cfg := fmt.Sprintf(`projects:
  - {name: p, path: %q}
agents:
  cat: {command: ["/bin/cat"]}
  flood: {command: ["/bin/sh", "-c", %q]}
sessions: {default_agent: cat, max_running: 200}
logging: {level: warn}
`, proj, floodCmd(b.flood))
	if err := os.WriteFile(filepath.Join(dir, ".teleclaude", "config.yml"), []byte(cfg), 0o600); err != nil {
		return nil, "", db, err
	}
	db = store.Config{Engine: store.SQLite, Path: filepath.Join(dir, "teleclaude.db")}
	env := []string{"TELECLAUDE_SYSTEM_MODE=0", "HOME=" + dir, "TELECLAUDE_DB_PATH=" + db.Path}
	if engine == "postgresql" {
		db = store.Config{Engine: store.PostgreSQL, DSN: freshDB(dsn, dir)}
		env = append(env, "TELECLAUDE_DB_ENGINE=postgresql", "TELECLAUDE_DB_DSN="+db.DSN)
	}
	d, err := b.startIn(dir, env)
	return d, dir, db, err
}

// userDir is this user's directory in the run directory of the bench's
// daemon in dir: its session host's socket, its tmux server's, the logs.
func userDir(dir string) string {
	return filepath.Join(dir, "run", "users", fmt.Sprint(os.Getuid()))
}

// killUserTmux ends the session host and the tmux server the bench's
// daemon started in dir (both outlive a daemon, by design).
func killUserTmux(tmuxBin, dir string) {
	udir := userDir(dir)
	exec.Command(tmuxBin, "-S", filepath.Join(udir, "tmux.sock"), "kill-server").Run()
	exec.Command("pkill", "-u", fmt.Sprint(os.Getuid()), "-f", "session-host --dir "+udir+" ").Run()
}

// floodCmd prints the flood in file: 20 MiB of base64 text (15 MiB of
// random bytes, 76 characters a line), made beforehand so that making it is
// not timed.
func floodCmd(file string) string { return fmt.Sprintf("cat '%s'; exec cat", file) }

// floodWant is the flood's size as text: base64 -w 76 of 15 MiB.
const floodWant = 15728640 / 57 * 77

// recording compares the transcript's intake with bare tmux: the same 20
// MiB of base64 text printed in a session, with pipe-pane into a file (done
// when the file holds it all), and through the daemon (done when the
// transcript does), on each engine; runs times each, alternating, so that
// the machine's load falls on both alike.
func (b *bench) recording(runs int) error {
	tmuxBin, err := exec.LookPath("tmux")
	if err != nil {
		b.row("recording", "(no tmux)", "", "")
		return nil
	}
	flood, err := os.CreateTemp("", "tc-flood-")
	if err != nil {
		return err
	}
	defer os.Remove(flood.Name())
	gen := exec.Command("sh", "-c", "head -c 15728640 /dev/urandom | base64 -w 76")
	gen.Stdout = flood
	if err := gen.Run(); err != nil {
		return err
	}
	flood.Close()
	b.flood = flood.Name()
	engines := []struct{ name, dsn string }{{"sqlite", ""}, {"postgresql", os.Getenv("TELECLAUDE_TEST_PG_DSN")}}
	for _, eng := range engines {
		if eng.name == "postgresql" && eng.dsn == "" {
			b.row("20 MiB of output into the transcript, PostgreSQL", "skipped: no TELECLAUDE_TEST_PG_DSN", "", "")
			continue
		}
		d, dir, dbc, err := b.sessionDaemonDB(eng.name, eng.dsn)
		if err != nil {
			return err
		}
		// The bench reads how far the transcript has got beside the
		// daemon, as a second reader of its database.
		st, err := store.Open(context.Background(), dbc, store.WithoutLock())
		if err != nil {
			d.stop()
			return err
		}
		hc := client(d.sock)
		// The user's session host is started once, as for a user who
		// has a session already: not counted.
		if id, _, err := startOne(hc, "cat"); err == nil {
			endOne(hc, id)
		}
		var bare, rec, tails []time.Duration
		var bareCPU, recCPU []floodCPU
		for range runs {
			t, c, err := bareFlood(tmuxBin, dir, b.flood, b.recHist)
			if err != nil {
				d.stop()
				return err
			}
			bare, bareCPU = append(bare, t), append(bareCPU, c)
			t, tl, c, err := recordFlood(hc, st, dir, tmuxBin, d.cmd.Process.Pid, eng.name == "postgresql")
			if err != nil {
				st.Close()
				d.stop()
				return err
			}
			rec, tails, recCPU = append(rec, t), append(tails, tl), append(recCPU, c)
		}
		st.Close()
		killUserTmux(tmuxBin, dir)
		d.stop()
		var each []string
		for i := range rec {
			each = append(each, fmt.Sprintf("%.2f", float64(rec[i])/float64(bare[i])))
		}
		ref := "bare tmux, pipe-pane to a file: "
		if b.recHist > 0 {
			ref = fmt.Sprintf("bare tmux (history-limit %d), pipe-pane to a file: ", b.recHist)
		}
		b.row(fmt.Sprintf("20 MiB of output into the transcript, %s (start to stored, median of %d)", eng.name, runs), ms(median(rec)),
			ref+ms(median(bare)), ratio(median(rec), median(bare))+" (runs: "+strings.Join(each, ", ")+")")
		b.row(fmt.Sprintf("  of which after the log held it all, %s (median)", eng.name), ms(median(tails)), "", "")
		b.cpuRows(eng.name, recCPU, bareCPU)
	}
	return nil
}

// bareFlood is the reference: a tmux server of its own, a session printing
// the flood and pipe-pane appending it to a file; done when the file has
// it all. hist > 0 sets the server's history-limit, as the daemon's
// servers have theirs (a longer history costs tmux more per line). The
// tmux server's CPU counts from its start.
func bareFlood(tmuxBin, dir, flood string, hist int) (time.Duration, floodCPU, error) {
	var c floodCPU
	sock := filepath.Join(dir, "bare.sock")
	out := filepath.Join(dir, "bare.out")
	os.Remove(out)
	conf := "/dev/null"
	if hist > 0 {
		conf = filepath.Join(dir, "bare.conf")
		if err := os.WriteFile(conf, []byte(fmt.Sprintf("set -g history-limit %d\n", hist)), 0o644); err != nil {
			return 0, c, err
		}
	}
	tm := func(args ...string) error {
		if o, err := exec.Command(tmuxBin, append([]string{"-S", sock, "-f", conf}, args...)...).CombinedOutput(); err != nil {
			return fmt.Errorf("tmux %v: %v %s", args, err, o)
		}
		return nil
	}
	defer exec.Command(tmuxBin, "-S", sock, "kill-server").Run()
	busy0 := cputime.Busy()
	t0 := time.Now()
	if err := tm("new-session", "-d", "-x", "200", "-y", "50", "-s", "bare", "sleep 0.2; "+floodCmd(flood), ";", "pipe-pane", "-t", "bare", "cat >> "+out); err != nil {
		return 0, c, err
	}
	// Asked within the 0.2 s before the flood.
	pid := tmuxPID(tmuxBin, sock)
	for {
		st, err := os.Stat(out)
		if err == nil && st.Size() >= floodWant {
			c.wall = time.Since(t0)
			c.busy, c.tmux = cputime.Busy()-busy0, cputime.Process(pid)
			return c.wall, c, nil
		}
		if time.Since(t0) > 5*time.Minute {
			return 0, c, fmt.Errorf("bare tmux: the flood did not arrive")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// tmuxPID is the pid of the tmux server on sock, 0 if it does not say.
func tmuxPID(tmuxBin, sock string) int {
	out, err := exec.Command(tmuxBin, "-S", sock, "display-message", "-p", "#{pid}").Output()
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	return pid
}

// recordFlood starts a flood session and waits until the database has
// recorded its log up to the log's end, the log holding at least the
// flood; then (not timed) checks that the transcript has all of it.
// tail is how long after the log held the whole flood the database did
// (to the bench's 10 ms polls): what the recorder was behind tmux. The
// daemon (pid daemon) and the user's tmux server count from the start
// request, as do the PostgreSQL server's processes if pg.
func recordFlood(hc *http.Client, st *store.Store, dir, tmuxBin string, daemon int, pg bool) (took, tail time.Duration, c floodCPU, err error) {
	tmux := tmuxPID(tmuxBin, filepath.Join(userDir(dir), "tmux.sock"))
	var server0 map[int]time.Duration
	if pg {
		server0 = cputime.Named("postgres")
	}
	tmux0, daemon0, busy0 := cputime.Process(tmux), cputime.Process(daemon), cputime.Busy()
	t0 := time.Now()
	var logDone time.Time
	id, _, err := startOne(hc, "flood")
	if err != nil {
		return 0, 0, c, err
	}
	defer endOne(hc, id)
	log := filepath.Join(userDir(dir), id+".out")
	ctx := context.Background()
	for {
		if time.Since(t0) > 5*time.Minute {
			return 0, 0, c, fmt.Errorf("the flood did not reach the transcript")
		}
		time.Sleep(10 * time.Millisecond)
		fi, err := os.Stat(log)
		if err != nil || fi.Size() < floodWant {
			continue
		}
		if logDone.IsZero() {
			logDone = time.Now()
		}
		s, err := st.GetSession(ctx, id)
		if err != nil {
			return 0, 0, c, err
		}
		if s.OutputOffset >= fi.Size() {
			break
		}
	}
	took = time.Since(t0)
	tail = time.Since(logDone)
	c = floodCPU{wall: took, busy: cputime.Busy() - busy0, tmux: cputime.Process(tmux) - tmux0, daemon: cputime.Process(daemon) - daemon0}
	if pg {
		c.server = cputime.Since(server0, cputime.Named("postgres"))
	}
	var got int
	for after := int64(0); ; {
		resp, err := hc.Get(fmt.Sprintf("http://teleclaude/v1/sessions/%s/transcript?after=%d", id, after))
		if err != nil {
			return 0, 0, c, err
		}
		var es []apitype.TranscriptEntry
		err = json.NewDecoder(resp.Body).Decode(&es)
		resp.Body.Close()
		if err != nil {
			return 0, 0, c, err
		}
		if len(es) == 0 {
			break
		}
		for _, e := range es {
			if e.Direction == "out" && !strings.HasPrefix(e.Content, "\n[teleclaude") {
				got += len(e.Content)
			}
			after = e.Seq
		}
	}
	if got < floodWant {
		return 0, 0, c, fmt.Errorf("the transcript holds %d bytes of the flood's %d", got, floodWant)
	}
	return took, tail, c, nil
}

// refusal names a failed start by its HTTP status and code, or its error.
func refusal(err error) string {
	var status int
	var body struct {
		Code string `json:"code"`
	}
	if _, e := fmt.Sscanf(err.Error(), "%d", &status); e == nil {
		if i := strings.IndexByte(err.Error(), '{'); i >= 0 && json.Unmarshal([]byte(err.Error()[i:]), &body) == nil && body.Code != "" {
			return fmt.Sprintf("%d %s", status, body.Code)
		}
		return fmt.Sprint(status)
	}
	return err.Error()
}

func startOne(hc *http.Client, agent string) (string, time.Duration, error) {
	body, _ := json.Marshal(apitype.StartRequest{Project: "p", Agent: agent})
	t0 := time.Now()
	resp, err := hc.Post("http://teleclaude/v1/sessions", "application/json", bytes.NewReader(body))
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	took := time.Since(t0)
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return "", 0, fmt.Errorf("%d %s", resp.StatusCode, b)
	}
	var sr apitype.StartResponse
	if err := json.Unmarshal(b, &sr); err != nil {
		return "", 0, err
	}
	return sr.ID, took, nil
}

func endOne(hc *http.Client, id string) {
	if resp, err := hc.Post("http://teleclaude/v1/sessions/"+id+"/end", "application/json", nil); err == nil {
		resp.Body.Close()
	}
}
