package migrate

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/instruktai/teleclaude/internal/pgtest"
	"github.com/instruktai/teleclaude/internal/store"
)

// pgExec runs statements on dsn.
func pgExec(t testing.TB, dsn string, stmts ...string) {
	t.Helper()
	ctx := context.Background()
	c := pgConn(t, dsn)
	for _, q := range stmts {
		if _, err := c.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// withSchema creates the target's schema, as a daemon's first start does.
func withSchema(t testing.TB, dsn string) {
	t.Helper()
	targetStore(t, dsn).Close()
}

// TestConstraintViolationInLastTable: the very last row of the last table
// breaks a constraint of the target. Everything copied before it is rolled
// back, and once the cause is gone a re-run succeeds.
func TestConstraintViolationInLastTable(t *testing.T) {
	src, dsn := newPair(t, genOpts{transcripts: 2000})
	db := openSQL(t, src)
	if _, err := db.Exec(`INSERT INTO transcript_entries (session_id, seq, direction, content, at) VALUES ('s1', 99999, 'out', 'boom', '2026-01-01T00:00:00.000000Z')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	withSchema(t, dsn)
	pgExec(t, dsn, `ALTER TABLE transcript_entries ADD CONSTRAINT no_boom CHECK (content <> 'boom')`)
	sum := fileSum(t, src)

	rep, err := migrateT(t, src, dsn)
	if err == nil || !strings.Contains(err.Error(), "no_boom") || !strings.Contains(err.Error(), "nothing was committed") {
		t.Fatalf("migrate: %v; want the violated constraint named and nothing committed", err)
	}
	if i := slices.IndexFunc(rep.Tables, func(tr *TableReport) bool { return tr.Name == "transcript_entries" }); i < 0 || rep.Tables[i].TargetRows != 0 {
		t.Errorf("tables %+v; want transcript_entries reported, with nothing committed", rep.Tables)
	}
	assertEmpty(t, dsn)
	if fileSum(t, src) != sum {
		t.Error("source changed")
	}

	pgExec(t, dsn, `ALTER TABLE transcript_entries DROP CONSTRAINT no_boom`)
	if _, err := migrateT(t, src, dsn); err != nil {
		t.Fatalf("re-run: %v", err)
	}
	if got := targetCounts(t, dsn); got["transcript_entries"] != 2000+3+1 {
		t.Errorf("after the re-run: %v", got)
	}
}

// TestPostgresStoppedMidCopy: the server stops in the middle of the big
// table (on a private server: the shared one stays up for other tests).
// After it comes back the target is empty, and a re-run succeeds.
func TestPostgresStoppedMidCopy(t *testing.T) {
	cl := pgtest.StartCluster(t)
	pgExec(t, cl.DSN(), `CREATE DATABASE stopped`)
	dsn := strings.Replace(cl.DSN(), "/postgres?", "/stopped?", 1)
	src := filepath.Join(t.TempDir(), "teleclaude.db")
	makeSource(t, src, genOpts{transcripts: 20000})
	sum := fileSum(t, src)

	var once sync.Once
	_, err := migrateT(t, src, dsn, func(o *Options) {
		o.Batch = 5000
		o.afterRows = func(table string, n int64) {
			if table == "transcript_entries" && n == 12000 {
				once.Do(cl.Stop)
			}
		}
	})
	if err == nil || !strings.Contains(err.Error(), "nothing was committed") {
		t.Fatalf("migrate with the server stopped midway: %v; want a failure that says nothing was committed", err)
	}
	t.Logf("the error an admin sees: %v", err)
	cl.Start()
	assertEmpty(t, dsn)
	if fileSum(t, src) != sum {
		t.Error("source changed")
	}
	if _, err := migrateT(t, src, dsn); err != nil {
		t.Fatalf("re-run after the server came back: %v", err)
	}
	if got := targetCounts(t, dsn); got["transcript_entries"] != 20000+3 {
		t.Errorf("after the re-run: %v", got)
	}
}

// TestKilledMidCopy: migrate is SIGKILLed while COPY is running. The
// server rolls the transaction back; the target is empty and a re-run
// succeeds.
func TestKilledMidCopy(t *testing.T) {
	if os.Getenv("MIGRATE_KILL_CHILD") != "" {
		killChild()
		return
	}
	src, dsn := newPair(t, genOpts{transcripts: 20000})
	sum := fileSum(t, src)
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledMidCopy$")
	cmd.Env = append(os.Environ(), "MIGRATE_KILL_CHILD=1", "MIGRATE_FROM="+src, "MIGRATE_TO="+dsn)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(out)
	for sc.Scan() && sc.Text() != "mid-copy" {
	}
	// Proof that a COPY is under way on the server when the kill comes.
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var copying bool
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		err = c.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = 'teleclaude migrate'
			AND query ILIKE 'copy %transcript_entries%' AND datname = current_database())`).Scan(&copying)
		c.Close(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if copying {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the child never had a COPY running")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()

	assertEmpty(t, dsn)
	if fileSum(t, src) != sum {
		t.Error("source changed")
	}
	// The killed process's backends end when the server notices; until
	// then its advisory lock keeps a new migration out, which is right.
	var rerr error
	for i := 0; i < 100; i++ {
		if _, rerr = migrateT(t, src, dsn); rerr == nil || !errors.Is(rerr, store.ErrLocked) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if rerr != nil {
		t.Fatalf("re-run after kill: %v", rerr)
	}
	if got := targetCounts(t, dsn); got["transcript_entries"] != 20000+3 {
		t.Errorf("after the re-run: %v", got)
	}
}

func killChild() {
	o := Options{From: os.Getenv("MIGRATE_FROM"), To: os.Getenv("MIGRATE_TO"), Owner: testOwner, Batch: 100000,
		afterRows: func(table string, n int64) {
			if table == "transcript_entries" && n == 15000 {
				fmt.Println("mid-copy")
				time.Sleep(time.Minute) // until killed
			}
		}}
	_, err := Run(context.Background(), o)
	fmt.Fprintln(os.Stderr, "child: migrate returned before the kill:", err)
	os.Exit(1)
}
