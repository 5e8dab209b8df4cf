package doctor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/instruktai/teleclaude/internal/apitype"
	"github.com/instruktai/teleclaude/internal/client"
	"github.com/instruktai/teleclaude/internal/config"
	"github.com/instruktai/teleclaude/internal/fileown"
	"github.com/instruktai/teleclaude/internal/layout"
	"github.com/instruktai/teleclaude/internal/osuser"
	"github.com/instruktai/teleclaude/internal/setupdb"
	"github.com/instruktai/teleclaude/internal/store"
)

// The running daemon: its socket, and the database as it sees it.

// socketAndDatabase asks the daemon for its status and health. When it
// answers, it speaks for the database too; otherwise the database check is
// left to the caller (nil).
func socketAndDatabase(ctx context.Context, sock string, system bool, group string) (Check, *Check, *Check) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cl := client.New(sock, system)
	var st apitype.Status
	if err := cl.Get(ctx, "/v1/status", &st); err != nil {
		var ue *client.UnreachableError
		if errors.As(err, &ue) {
			return Check{Name: "socket", Status: Fail, Detail: sock + ": " + ue.Cause, Fix: ue.Fix}, nil, nil
		}
		return Check{Name: "socket", Status: Fail, Detail: sock + ": " + err.Error(), Fix: "check the daemon's log: journalctl -u teleclaude"}, nil, nil
	}
	sc := Check{Name: "socket", Status: Pass, Detail: fmt.Sprintf("%s: TeleClaude %s answers (pid %d, %s mode)", sock, st.Version, st.PID, st.Mode)}
	if fi, err := os.Stat(sock); err == nil && system {
		own, _ := fileown.Of(fi)
		perm, gid := fi.Mode().Perm(), own.GID
		switch {
		case perm&0o006 != 0:
			sc.Status, sc.Fix = Warn, fmt.Sprintf("socket: {mode: \"0660\", group: %s} in the config, then restart the daemon", group)
			sc.Detail += fmt.Sprintf("; mode %04o lets every user connect", perm)
		case osuser.GroupName(gid) != group:
			sc.Status, sc.Fix = Warn, "restart the daemon; it sets the socket's group from socket.group"
			sc.Detail += fmt.Sprintf("; its group is %s, not %s", osuser.GroupName(gid), group)
		}
	}

	dc := Check{Name: "database", Status: Pass}
	latest, _ := store.LatestVersion(store.Engine(st.Database.Engine))
	err := cl.Get(ctx, "/health", nil)
	var ae *client.APIError
	switch {
	case errors.As(err, &ae) && ae.Status == http.StatusServiceUnavailable:
		dc.Status, dc.Detail, dc.Fix = Fail, "the daemon cannot reach its database: "+ae.Msg, "check database: in the config and the database server; for PostgreSQL on this machine: sudo teleclaude setup-db"
	case err != nil:
		dc.Status, dc.Detail = Warn, "the daemon did not say whether its database is well: "+err.Error()
	case st.Database.SchemaVersion < latest:
		dc.Status, dc.Detail, dc.Fix = Warn, fmt.Sprintf("%s, schema v%d; this program knows v%d: the running daemon is older", st.Database.Engine, st.Database.SchemaVersion, latest),
			"restart the daemon after an upgrade: sudo systemctl restart teleclaude"
	default:
		dc.Detail = fmt.Sprintf("%s, schema v%d, reachable (the daemon says)", st.Database.Engine, st.Database.SchemaVersion)
	}
	var oc *Check
	if st.Sessions.Orphaned > 0 {
		oc = &Check{Name: "session owners", Status: Warn,
			Detail: fmt.Sprintf("%d session(s) belong to a uid whose account is gone, renamed or given to someone else, or that now maps to another person; only admins reach them", st.Sessions.Orphaned),
			Fix:    "an admin lists them (telec sessions list) and ends or keeps them; a uid given again to someone else does not inherit them"}
	}
	return sc, &dc, oc
}

// DatabaseCheck loads the config and inspects the database as the calling
// user, who should be the daemon's: doctor runs it in a process of that
// user when the daemon does not answer.
func DatabaseCheck(ctx context.Context, p layout.Paths, getenv config.Getenv) Check {
	c := Check{Name: "database"}
	who := osuser.UserName(os.Getuid())
	cfg, err := config.Load(p, getenv)
	if err != nil {
		c.Status, c.Detail, c.Fix = Fail, fmt.Sprintf("as %s, the config does not load: %v", who, err), "see the config and secrets checks"
		return c
	}
	sc := store.Config{Engine: store.Engine(cfg.Database.Engine), Path: cfg.Database.Path}
	where := "sqlite " + sc.Path
	fix := fmt.Sprintf("check that %s is a SQLite database and that %s may read and write it and its directory", sc.Path, who)
	if sc.Engine == store.PostgreSQL {
		sc.DSN = cfg.DatabaseDSN(getenv)
		where = fmt.Sprintf("postgresql database %s as %s on %s port %d", cfg.Database.DBName, cfg.Database.User, cfg.Database.Host, cfg.Database.Port)
		fix = postgresFix(cfg.Database)
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	s, err := store.Inspect(ctx, sc)
	switch {
	case err != nil:
		c.Status, c.Detail, c.Fix = Fail, fmt.Sprintf("%s, as %s: %v", where, who, err), fix
	case !s.Exists:
		c.Status, c.Detail = Pass, where+": not created yet; the daemon creates it at its first start"
	case s.Current < s.Latest:
		c.Status, c.Detail, c.Fix = Warn, fmt.Sprintf("%s: schema v%d, this program brings it to v%d at the daemon's next start", where, s.Current, s.Latest),
			"start or restart the daemon: sudo systemctl restart teleclaude"
	case s.Current > s.Latest:
		c.Status, c.Detail, c.Fix = Fail, fmt.Sprintf("%s: schema v%d is newer than this program knows (v%d)", where, s.Current, s.Latest), "install the newer teleclaude, or restore a backup"
	default:
		c.Status, c.Detail = Pass, fmt.Sprintf("%s: reachable as %s, schema v%d (current)", where, who, s.Current)
	}
	return c
}

// postgresFix is the fix for a PostgreSQL database that cannot be used.
// On this machine's socket, the server may listen on another port than the
// config names (Debian gives a second cluster 5433): then it names the
// ports that answer.
func postgresFix(db config.Database) string {
	fix := "for PostgreSQL on this machine: sudo teleclaude setup-db; otherwise check database: in the config"
	if !strings.HasPrefix(db.Host, "/") || setupdb.Probe(setupdb.Target{SocketDir: db.Host, Port: db.Port}) == nil {
		return fix
	}
	ports := setupdb.Discover(db.Host)
	if len(ports) == 0 {
		return fmt.Sprintf("no PostgreSQL answers in %s: install and start it, then sudo teleclaude setup-db", db.Host)
	}
	names := make([]string, len(ports))
	for i, p := range ports {
		names[i] = strconv.Itoa(p)
	}
	return fmt.Sprintf("nothing answers on port %d, but PostgreSQL does in %s on port %s: set that port: in the database: line of the config, then sudo teleclaude setup-db",
		db.Port, db.Host, strings.Join(names, ", "))
}
