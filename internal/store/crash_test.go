package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestAcknowledgedWriteSurvivesKill9 has a child process write audit records
// and a session, say "ack" for each, and get SIGKILLed right after the last
// acknowledgement. Everything acknowledged must be there when the database
// is opened again (and the lock must be free: the kernel or the server
// released it with the dead process).
func TestAcknowledgedWriteSurvivesKill9(t *testing.T) {
	if os.Getenv("STORE_CRASH_CHILD") != "" {
		crashChild()
		return
	}
	engines(t, func(t *testing.T, cfg Config) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestAcknowledgedWriteSurvivesKill9$")
		cmd.Env = append(os.Environ(), "STORE_CRASH_CHILD=1", "STORE_CRASH_ENGINE="+string(cfg.Engine),
			"STORE_CRASH_PATH="+cfg.Path, "STORE_CRASH_DSN="+cfg.DSN)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var acked []int64
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if id, ok := strings.CutPrefix(sc.Text(), "ack "); ok {
				n, _ := strconv.ParseInt(id, 10, 64)
				acked = append(acked, n)
				if len(acked) == 50 {
					cmd.Process.Kill() // SIGKILL: no deferred Close, no flush
					break
				}
			}
		}
		cmd.Wait()
		if len(acked) != 50 {
			t.Fatalf("child acknowledged %d writes before dying", len(acked))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s, err := Open(ctx, cfg, WithHolder("after the crash"))
		if err != nil {
			t.Fatalf("reopen after kill -9: %v", err)
		}
		defer s.Close()
		recs, err := s.ListAudit(ctx, AuditFilter{})
		if err != nil {
			t.Fatal(err)
		}
		have := map[int64]bool{}
		for _, r := range recs {
			have[r.ID] = true
		}
		for _, id := range acked {
			if !have[id] {
				t.Errorf("acknowledged audit record %d lost after kill -9", id)
			}
		}
		if _, err := s.GetSession(ctx, "crash"); err != nil {
			t.Errorf("acknowledged session lost after kill -9: %v", err)
		}
	})
}

func crashChild() {
	cfg := Config{Engine: Engine(os.Getenv("STORE_CRASH_ENGINE")), Path: os.Getenv("STORE_CRASH_PATH"), DSN: os.Getenv("STORE_CRASH_DSN")}
	ctx := context.Background()
	s, err := Open(ctx, cfg, WithHolder("crash child"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(1)
	}
	if err := s.CreateSession(ctx, &Session{ID: "crash", Project: "p", Agent: "a", Status: "running"}); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(1)
	}
	for i := 0; ; i++ {
		r, err := s.AppendAudit(ctx, AuditRecord{ActorUID: 1, ActorPID: int64(os.Getpid()), Action: "crash.test." + strconv.Itoa(i)})
		if err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		fmt.Printf("ack %d\n", r.ID)
	}
}
