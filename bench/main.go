// Command bench measures TeleClaude as a user experiences it: whole `telec`
// processes, API round trips over the real socket with the identity check,
// daemon start to ready, idle memory, and teleclaude migrate against the
// sqlite3 | psql pipeline and pgloader. It prints one table, with a
// reference measured side by side in the same run wherever one exists.
//
//	go run ./bench -bin bin      (make bench)
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/instruktai/teleclaude/internal/sessionhost"
)

func main() {
	if sock := os.Getenv(floodEnv); sock != "" {
		floodMember(sock)
		return
	}
	bin := flag.String("bin", "bin", "directory with teleclaude and telec")
	runs := flag.Int("runs", 200, "whole-process runs per command")
	requests := flag.Int("requests", 40000, "API requests per throughput measurement")
	clients := flag.Int("clients", 8, "concurrent API clients")
	sections := flag.String("sections", "api,flood,starts,recording,migrate,upstream", "what to measure: api, flood, starts, recording, migrate, upstream (comma-separated)")
	recRuns := flag.Int("recording-runs", 3, "floods per engine in the recording section (and as many bare tmux ones)")
	recHist := flag.Int("recording-history", sessionhost.HistoryLimit, "history-limit of the recording section's bare tmux server (the daemon's servers keep sessionhost.HistoryLimit; 0: tmux's default of 2000)")
	migSessions := flag.Int("migrate-sessions", 20000, "sessions in the migration benchmark's database")
	migRows := flag.Int("migrate-rows", 1000000, "transcript rows in the migration benchmark's database")
	flag.Parse()
	b := &bench{bin: *bin}
	b.recRuns = *recRuns
	b.recHist = *recHist
	err := b.run(*sections, *runs, *requests, *clients, *migSessions, *migRows)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type bench struct {
	bin     string
	rows    [][]string
	recRuns int
	recHist int
	flood   string // the recording's flood file
}

func (b *bench) row(cols ...string) { b.rows = append(b.rows, cols) }

func (b *bench) run(sections string, runs, requests, clients, migSessions, migRows int) error {
	host, _ := os.Hostname()
	fmt.Printf("machine: %s, %d CPUs, %s/%s, %s\n\n", host, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, time.Now().UTC().Format("2006-01-02"))
	if strings.Contains(sections, "api") {
		if err := b.api(runs, requests, clients); err != nil {
			return err
		}
	}
	if strings.Contains(sections, "flood") {
		if err := b.floodRow(min(requests/20, 2000)); err != nil {
			return err
		}
	}
	if strings.Contains(sections, "starts") {
		if err := b.starts(); err != nil {
			return err
		}
	}
	if strings.Contains(sections, "recording") {
		if err := b.recording(b.recRuns); err != nil {
			return err
		}
	}
	if strings.Contains(sections, "migrate") {
		if err := b.migrateBench(os.Getenv("TELECLAUDE_TEST_PG_DSN"), migSessions, migRows); err != nil {
			return err
		}
	}
	if strings.Contains(sections, "upstream") {
		if err := b.upstreamBench(os.Getenv("TELECLAUDE_TEST_PG_DSN"), *upstreamRows); err != nil {
			return err
		}
	}
	b.print()
	return nil
}

// api measures telec, the API over the socket, and daemon start.
func (b *bench) api(runs, requests, clients int) error {
	d, err := b.start("sqlite", "")
	if err != nil {
		return err
	}
	defer d.stop()

	// Whole processes: telec whoami against curl doing the same request.
	telec := filepath.Join(b.bin, "telec")
	tw, err := timeProcess(runs, d.env, telec, "whoami", "--json")
	if err != nil {
		return err
	}
	if curl, err := exec.LookPath("curl"); err == nil {
		cw, err := timeProcess(runs, d.env, curl, "-s", "--unix-socket", d.sock, "http://teleclaude/v1/whoami")
		if err != nil {
			return err
		}
		b.row("telec whoami, whole process (median)", ms(median(tw)), "curl --unix-socket, same request: "+ms(median(cw)), ratio(median(tw), median(cw)))
	} else {
		b.row("telec whoami, whole process (median)", ms(median(tw)), "(no curl for a reference)", "")
	}
	ts, err := timeProcess(runs, d.env, telec, "status", "--json")
	if err != nil {
		return err
	}
	b.row("telec status, whole process (median)", ms(median(ts)), "", "")

	// API throughput with the identity check, against a bare Go handler
	// serving the same bytes on a Unix socket.
	body, err := get(d.sock, "/v1/whoami")
	if err != nil {
		return err
	}
	api := load(d.sock, "/v1/whoami", requests, clients, true)
	bare, stopBare, err := bareServer(body)
	if err != nil {
		return err
	}
	ref := load(bare, "/v1/whoami", requests, clients, true)
	// Identity is decided per connection; a connection per request makes
	// every request pay for SO_PEERCRED and the account lookup.
	apiFresh := load(d.sock, "/v1/whoami", requests/4, clients, false)
	refFresh := load(bare, "/v1/whoami", requests/4, clients, false)
	stopBare()
	b.row(fmt.Sprintf("API GET /v1/whoami, %d clients (req/s)", clients), fmt.Sprintf("%.0f", api.rps),
		fmt.Sprintf("bare Go handler, same bytes: %.0f", ref.rps), fmt.Sprintf("%.2f×", api.rps/ref.rps))
	b.row("API GET /v1/whoami p50 / p99", ms(api.p50)+" / "+ms(api.p99), "bare: "+ms(ref.p50)+" / "+ms(ref.p99), "")
	b.row(fmt.Sprintf("API, new connection per request, %d clients (req/s)", clients), fmt.Sprintf("%.0f", apiFresh.rps),
		fmt.Sprintf("bare Go handler: %.0f", refFresh.rps), fmt.Sprintf("%.2f×", apiFresh.rps/refFresh.rps))
	b.row("API, new connection per request p50 / p99", ms(apiFresh.p50)+" / "+ms(apiFresh.p99), "bare: "+ms(refFresh.p50)+" / "+ms(refFresh.p99), "")

	b.row("daemon idle RSS after the above (SQLite)", fmt.Sprintf("%.1f MiB", rssMiB(d.cmd.Process.Pid)), "", "")
	d.stop()

	if err := b.sessions(runs, requests, clients); err != nil {
		return err
	}

	// Start to ready: exec until the socket accepts (READY=1 is sent at the
	// same point), median of 10, each on a fresh database.
	for _, eng := range []struct{ name, dsn string }{{"sqlite", ""}, {"postgresql", os.Getenv("TELECLAUDE_TEST_PG_DSN")}} {
		if eng.name == "postgresql" && eng.dsn == "" {
			b.row("daemon start to ready (PostgreSQL)", "skipped: no TELECLAUDE_TEST_PG_DSN", "", "")
			continue
		}
		var ds []time.Duration
		var rss float64
		for i := 0; i < 10; i++ {
			t0 := time.Now()
			d, err := b.start(eng.name, eng.dsn)
			if err != nil {
				return err
			}
			ds = append(ds, time.Since(t0))
			time.Sleep(200 * time.Millisecond)
			rss = rssMiB(d.cmd.Process.Pid)
			d.stop()
		}
		b.row(fmt.Sprintf("daemon start to ready, %s (median of 10)", eng.name), ms(median(ds)), "", "")
		b.row(fmt.Sprintf("daemon idle RSS just after start, %s", eng.name), fmt.Sprintf("%.1f MiB", rss), "", "")
	}
	return nil
}

func (b *bench) print() {
	head := []string{"measure", "TeleClaude", "reference (same run)", "ratio"}
	w := make([]int, len(head))
	for _, r := range append([][]string{head}, b.rows...) {
		for i, c := range r {
			if n := len([]rune(c)); n > w[i] {
				w[i] = n
			}
		}
	}
	line := func(r []string) {
		var sb strings.Builder
		sb.WriteString("|")
		for i, c := range r {
			sb.WriteString(" " + c + strings.Repeat(" ", w[i]-len([]rune(c))) + " |")
		}
		fmt.Println(sb.String())
	}
	line(head)
	sep := make([]string, len(head))
	for i := range sep {
		sep[i] = strings.Repeat("-", w[i])
	}
	line(sep)
	for _, r := range b.rows {
		for len(r) < len(head) {
			r = append(r, "")
		}
		line(r)
	}
}

type daemonProc struct {
	cmd  *exec.Cmd
	dir  string
	sock string
	env  []string
	log  *bytes.Buffer
}

// start runs a single-user daemon in a private tree and waits until its
// socket accepts.
func (b *bench) start(engine, dsn string) (*daemonProc, error) {
	dir, err := os.MkdirTemp("", "tc-bench-")
	if err != nil {
		return nil, err
	}
	env := []string{"TELECLAUDE_SYSTEM_MODE=0", "HOME=" + dir}
	if engine == "postgresql" {
		env = append(env, "TELECLAUDE_DB_ENGINE=postgresql", "TELECLAUDE_DB_DSN="+freshDB(dsn, dir))
	}
	return b.startIn(dir, env)
}

// startIn runs a daemon in tree dir with env (which sets the mode) and
// waits until its socket accepts.
func (b *bench) startIn(dir string, env []string) (*daemonProc, error) {
	d := &daemonProc{dir: dir, sock: filepath.Join(dir, "run", "teleclaude.sock"), log: &bytes.Buffer{}}
	d.env = append([]string{"TELECLAUDE_RUN_DIR=" + filepath.Join(dir, "run"),
		"TELECLAUDE_SOCKET=" + d.sock, "PATH=" + os.Getenv("PATH")}, env...)
	d.cmd = exec.Command(filepath.Join(b.bin, "teleclaude"), "serve")
	d.cmd.Env = d.env
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	if err := d.cmd.Start(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(time.Minute)
	for {
		if c, err := net.Dial("unix", d.sock); err == nil {
			c.Close()
			return d, nil
		}
		if time.Now().After(deadline) || d.cmd.ProcessState != nil {
			d.stop()
			return nil, fmt.Errorf("daemon did not start:\n%s", d.log)
		}
		time.Sleep(time.Millisecond)
	}
}

func (d *daemonProc) stop() {
	if d.cmd.ProcessState == nil {
		d.cmd.Process.Signal(os.Interrupt)
		d.cmd.Wait()
	}
	os.RemoveAll(d.dir)
}

// freshDB creates a database for one start so that each start migrates an
// empty schema, as a first start does.
func freshDB(admin, dir string) string {
	name := "bench_" + strings.NewReplacer("-", "_", "/", "_", ".", "_").Replace(filepath.Base(dir))
	out, err := exec.Command("psql", admin, "-qAtc", "CREATE DATABASE "+name).CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "create database: %v %s\n", err, out)
	}
	return strings.Replace(admin, "/postgres?", "/"+name+"?", 1)
}

func timeProcess(n int, env []string, bin string, args ...string) ([]time.Duration, error) {
	ds := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		t0 := time.Now()
		out, err := cmd.CombinedOutput()
		ds = append(ds, time.Since(t0))
		if err != nil {
			return nil, fmt.Errorf("%s %v: %v: %s", bin, args, err, out)
		}
	}
	return ds, nil
}

type loadResult struct {
	rps      float64
	p50, p99 time.Duration
}

// load sends n GETs from c concurrent clients, reusing connections or not.
func load(sock, path string, n, c int, keepAlive bool) loadResult {
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	t0 := time.Now()
	for i := 0; i < c; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hc := client(sock)
			hc.Transport.(*http.Transport).DisableKeepAlives = !keepAlive
			mine := make([]time.Duration, 0, n/c)
			for j := 0; j < n/c; j++ {
				s := time.Now()
				resp, err := hc.Get("http://teleclaude" + path)
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mine = append(mine, time.Since(s))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	el := time.Since(t0)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return loadResult{rps: float64(len(lat)) / el.Seconds(), p50: lat[len(lat)/2], p99: lat[len(lat)*99/100]}
}

func client(sock string) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}, MaxIdleConnsPerHost: 1}}
}

func get(sock, path string) ([]byte, error) {
	resp, err := client(sock).Get("http://teleclaude" + path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// bareServer is the reference: the least a Go HTTP server on a Unix socket
// can do to answer with the same bytes.
func bareServer(body []byte) (string, func(), error) {
	dir, err := os.MkdirTemp("", "tc-bare-")
	if err != nil {
		return "", nil, err
	}
	sock := filepath.Join(dir, "bare.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})}
	go srv.Serve(ln)
	return sock, func() { srv.Close(); os.RemoveAll(dir) }, nil
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

func ratio(a, b time.Duration) string { return fmt.Sprintf("%.2f×", float64(a)/float64(b)) }

func rssMiB(pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			var kb float64
			fmt.Sscan(strings.TrimSpace(strings.TrimPrefix(l, "VmRSS:")), &kb)
			return kb / 1024
		}
	}
	return 0
}
