// Package setupdb creates the PostgreSQL role and database that the
// daemon's service user reaches with peer authentication over the local
// socket (docs/DESIGN.md, "Storage and migration"): no password anywhere. Every step is idempotent and says
// what it did or found, so that package scripts can run it on every upgrade.
//
// The caller runs Create as the PostgreSQL superuser's OS account and Verify
// as the service user (package runas): peer authentication believes only
// the kernel's word about who connects.
package setupdb

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Target is the server and what to create on it.
type Target struct {
	SocketDir string `json:"socket_dir"` // e.g. /var/run/postgresql
	Port      int    `json:"port"`
	Superuser string `json:"superuser"` // the role Create acts as
	Role      string `json:"role"`      // the service user's role: its OS user name
	DBName    string `json:"dbname"`
}

// Socket is the server's socket file.
func (t Target) Socket() string {
	return filepath.Join(t.SocketDir, ".s.PGSQL."+strconv.Itoa(t.Port))
}

// ErrNoServer means that no PostgreSQL answers on the local socket.
var ErrNoServer = errors.New("no local PostgreSQL")

// Probe reports (with ErrNoServer) whether nothing listens on the socket: no
// socket file, or one left behind by a server that is gone. Any other
// failure is returned as it is.
func Probe(t Target) error {
	c, err := net.DialTimeout("unix", t.Socket(), 5*time.Second)
	if err == nil {
		return c.Close()
	}
	if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("%w at %s", ErrNoServer, t.Socket())
	}
	return fmt.Errorf("PostgreSQL socket %s: %w", t.Socket(), err)
}

// Step is one thing done or found.
type Step struct {
	Action  string `json:"action"`
	Changed bool   `json:"changed"`
}

// connect opens one connection over the socket, as user, to dbname. Host,
// port, user and database are given, so PG* variables cannot redirect it.
func (t Target) connect(ctx context.Context, user, dbname string) (*pgx.Conn, error) {
	q := func(v string) string { return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'" }
	dsn := fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable connect_timeout=10", q(t.SocketDir), t.Port, q(user), q(dbname))
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	cfg.RuntimeParams["application_name"] = "teleclaude setup-db"
	return pgx.ConnectConfig(ctx, cfg)
}

func ident(s string) string { return pgx.Identifier{s}.Sanitize() }

// Create makes sure the role exists and may log in, and that the database
// exists and belongs to it. A database of that name owned by someone else is
// an error: it may not be ours.
func Create(ctx context.Context, t Target) ([]Step, error) {
	conn, err := t.connect(ctx, t.Superuser, "postgres")
	if err != nil {
		return nil, fmt.Errorf("connect as %s over %s: %w", t.Superuser, t.Socket(), err)
	}
	defer conn.Close(context.Background())
	var steps []Step
	s, err := ensureRole(ctx, conn, t.Role)
	if err != nil {
		return steps, err
	}
	steps = append(steps, s)
	ds, err := ensureDatabase(ctx, conn, t.DBName, t.Role)
	return append(steps, ds...), err
}

func ensureRole(ctx context.Context, conn *pgx.Conn, role string) (Step, error) {
	var canLogin bool
	err := conn.QueryRow(ctx, "SELECT rolcanlogin FROM pg_roles WHERE rolname = $1", role).Scan(&canLogin)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		_, err = conn.Exec(ctx, "CREATE ROLE "+ident(role)+" LOGIN")
		if isCode(err, "42710") { // duplicate_object: another run was quicker
			return Step{Action: "role " + role + " exists", Changed: false}, nil
		}
		if err != nil {
			return Step{}, fmt.Errorf("create role %s: %w", role, err)
		}
		return Step{Action: "created role " + role + " (LOGIN, no password: peer authentication)", Changed: true}, nil
	case err != nil:
		return Step{}, fmt.Errorf("look up role %s: %w", role, err)
	case !canLogin:
		if _, err := conn.Exec(ctx, "ALTER ROLE "+ident(role)+" LOGIN"); err != nil {
			return Step{}, fmt.Errorf("let role %s log in: %w", role, err)
		}
		return Step{Action: "role " + role + " existed without LOGIN; gave it LOGIN", Changed: true}, nil
	default:
		return Step{Action: "role " + role + " exists", Changed: false}, nil
	}
}

func ensureDatabase(ctx context.Context, conn *pgx.Conn, db, role string) ([]Step, error) {
	var owner string
	err := conn.QueryRow(ctx, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $1", db).Scan(&owner)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		_, err = conn.Exec(ctx, "CREATE DATABASE "+ident(db)+" OWNER "+ident(role))
		if isCode(err, "42P04") { // duplicate_database: another run was quicker
			return ensureDatabase(ctx, conn, db, role)
		}
		if err != nil {
			return nil, fmt.Errorf("create database %s: %w", db, err)
		}
		// Every role may connect to a new database by default; this one is
		// the daemon's alone.
		if _, err := conn.Exec(ctx, "REVOKE ALL ON DATABASE "+ident(db)+" FROM PUBLIC"); err != nil {
			return nil, fmt.Errorf("revoke PUBLIC's rights on %s: %w", db, err)
		}
		return []Step{
			{Action: "created database " + db + " owned by " + role, Changed: true},
			{Action: "revoked PUBLIC's CONNECT and TEMPORARY on " + db + ": only " + role + " (and superusers) may connect", Changed: true},
		}, nil
	case err != nil:
		return nil, fmt.Errorf("look up database %s: %w", db, err)
	case owner != role:
		return nil, fmt.Errorf("database %s exists and belongs to %s, not %s; if it is TeleClaude's, run as the superuser: ALTER DATABASE %s OWNER TO %s",
			db, owner, role, ident(db), ident(role))
	default:
		return []Step{{Action: "database " + db + " exists, owned by " + role, Changed: false}}, nil
	}
}

// Verify connects as the role to the database, as the daemon will. Run as
// the service user, a success proves peer authentication end to end.
func Verify(ctx context.Context, t Target) (Step, error) {
	conn, err := t.connect(ctx, t.Role, t.DBName)
	if err != nil {
		var pe *pgconn.PgError
		fix := ""
		if errors.As(err, &pe) && (pe.Code == "28000" || pe.Code == "28P01") { // invalid authorization / password
			fix = fmt.Sprintf("; PostgreSQL's pg_hba.conf (SHOW hba_file) needs the line `local %s %s peer` before any other that matches, then a reload",
				t.DBName, t.Role)
		}
		return Step{}, fmt.Errorf("%s cannot connect to %s over %s: %w%s", t.Role, t.DBName, t.Socket(), err, fix)
	}
	defer conn.Close(context.Background())
	var who string
	if err := conn.QueryRow(ctx, "SELECT current_user").Scan(&who); err != nil {
		return Step{}, fmt.Errorf("query as %s: %w", t.Role, err)
	}
	return Step{Action: fmt.Sprintf("checked: %s connects to %s over %s without a password", who, t.DBName, t.SocketDir)}, nil
}

func isCode(err error, code string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == code
}

// Discover lists the ports of the PostgreSQL servers that answer on this
// machine, lowest first: those of the clusters Debian's pg_lsclusters
// lists (when it is installed), and those whose socket file is in
// socketDir. A second cluster on Debian gets 5433, and an admin may choose
// any port, so none is assumed.
func Discover(socketDir string) []int {
	candidates := map[int]bool{}
	if out, err := exec.Command("pg_lsclusters", "--no-header").Output(); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			// Ver Cluster Port Status Owner Data-directory Log-file
			if f := strings.Fields(line); len(f) >= 4 && strings.HasPrefix(f[3], "online") {
				if p, err := strconv.Atoi(f[2]); err == nil {
					candidates[p] = true
				}
			}
		}
	}
	if entries, err := os.ReadDir(socketDir); err == nil {
		for _, e := range entries {
			if n, ok := strings.CutPrefix(e.Name(), ".s.PGSQL."); ok {
				if p, err := strconv.Atoi(n); err == nil {
					candidates[p] = true
				}
			}
		}
	}
	var ports []int
	for p := range candidates {
		if p > 0 && p <= 65535 && Probe(Target{SocketDir: socketDir, Port: p}) == nil {
			ports = append(ports, p)
		}
	}
	sort.Ints(ports)
	return ports
}

// ConfigLine is the database setting of config.yml that reaches t as the
// daemon will: over the socket, as the role, with no password.
func (t Target) ConfigLine() string {
	return fmt.Sprintf("database: {engine: postgresql, host: %s, port: %d, dbname: %s, user: %s}", t.SocketDir, t.Port, t.DBName, t.Role)
}
