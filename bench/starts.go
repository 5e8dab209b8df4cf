package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/instruktai/teleclaude/internal/apitype"
)

// starts measures session starts through the API (POST /v1/sessions,
// answered once the session runs) at 1, 10 and 50 at once, against a
// single-user daemon on SQLite whose agent is cat; and recording: how long
// a 20 MiB flood takes to reach the transcript, beside bare tmux writing
// the same flood to a file with pipe-pane.
func (b *bench) starts() error {
	tmuxBin, err := exec.LookPath("tmux")
	if err != nil {
		b.row("session starts", "(no tmux)", "", "")
		return nil
	}
	dir, err := os.MkdirTemp("", "tc-bench-")
	if err != nil {
		return err
	}
	proj := filepath.Join(dir, "proj")
	if err := os.MkdirAll(filepath.Join(dir, ".teleclaude"), 0o700); err != nil {
		return err
	}
	if err := os.MkdirAll(proj, 0o755); err != nil {
		return err
	}
	cfg := fmt.Sprintf(`projects:
  - {name: p, path: %q}
agents:
  cat: {command: ["/bin/cat"]}
  flood: {command: ["/bin/sh", "-c", "head -c 15728640 /dev/urandom | base64 -w 76; exec cat"]}
sessions: {default_agent: cat, max_running: 200}
logging: {level: warn}
`, proj)
	if err := os.WriteFile(filepath.Join(dir, ".teleclaude", "config.yml"), []byte(cfg), 0o600); err != nil {
		return err
	}
	d, err := b.startIn(dir, []string{"TELECLAUDE_SYSTEM_MODE=0", "HOME=" + dir})
	if err != nil {
		return err
	}
	defer d.stop()
	defer exec.Command(tmuxBin, "-S", filepath.Join(dir, "run", "users", fmt.Sprint(os.Getuid()), "tmux.sock"), "kill-server").Run()
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
						fmt.Fprintln(os.Stderr, "start:", err)
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
			note = fmt.Sprintf("%d of %d refused", failed, failed+len(lat))
		}
		b.row(fmt.Sprintf("session start, %d at once, p50 / p99 (%d starts)", c.at, len(lat)), ms(lat[len(lat)/2])+" / "+ms(lat[len(lat)*99/100]), note, "")
	}
	return b.recording(hc, tmuxBin, dir)
}

// recording compares the transcript's intake with bare tmux: the same 20
// MiB of base64 text printed in a session, first with pipe-pane into a file
// (done when the file holds it all), then through the daemon (done when the
// transcript does).
func (b *bench) recording(hc *http.Client, tmuxBin, dir string) error {
	const want = 15728640 / 57 * 77 // base64 -w 76 of 15 MiB: 20 MiB of text with newlines
	sock := filepath.Join(dir, "bare.sock")
	out := filepath.Join(dir, "bare.out")
	tm := func(args ...string) error {
		if o, err := exec.Command(tmuxBin, append([]string{"-S", sock, "-f", "/dev/null"}, args...)...).CombinedOutput(); err != nil {
			return fmt.Errorf("tmux %v: %v %s", args, err, o)
		}
		return nil
	}
	defer exec.Command(tmuxBin, "-S", sock, "kill-server").Run()
	t0 := time.Now()
	if err := tm("new-session", "-d", "-x", "200", "-y", "50", "-s", "bare", "sleep 0.2; head -c 15728640 /dev/urandom | base64 -w 76; exec cat", ";", "pipe-pane", "-t", "bare", "cat >> "+out); err != nil {
		return err
	}
	for {
		st, err := os.Stat(out)
		if err == nil && st.Size() >= want {
			break
		}
		if time.Since(t0) > 5*time.Minute {
			return fmt.Errorf("bare tmux: the flood did not arrive")
		}
		time.Sleep(10 * time.Millisecond)
	}
	bare := time.Since(t0)

	t0 = time.Now()
	id, _, err := startOne(hc, "flood")
	if err != nil {
		return err
	}
	defer endOne(hc, id)
	var got int
	for after := int64(0); got < want; {
		resp, err := hc.Get(fmt.Sprintf("http://teleclaude/v1/sessions/%s/transcript?after=%d", id, after))
		if err != nil {
			return err
		}
		var es []apitype.TranscriptEntry
		err = json.NewDecoder(resp.Body).Decode(&es)
		resp.Body.Close()
		if err != nil {
			return err
		}
		for _, e := range es {
			if e.Direction == "out" && !strings.HasPrefix(e.Content, "\n[teleclaude") {
				got += len(e.Content)
			}
			after = e.Seq
		}
		if time.Since(t0) > 5*time.Minute {
			return fmt.Errorf("the flood did not reach the transcript (%d of %d bytes)", got, want)
		}
		if len(es) == 0 {
			time.Sleep(20 * time.Millisecond)
		}
	}
	took := time.Since(t0)
	b.row("20 MiB of output into the transcript (start to stored)", ms(took), "bare tmux, pipe-pane to a file: "+ms(bare), ratio(took, bare))
	return nil
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
