// Package daemon wires the parts of `teleclaude serve` together: layout and
// config, logging, the store, the socket and the API, and the service
// manager's lifecycle (ready, reload, stop).
package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/instruktai/teleclaude/internal/api"
	"github.com/instruktai/teleclaude/internal/apitype"
	"github.com/instruktai/teleclaude/internal/config"
	"github.com/instruktai/teleclaude/internal/docs"
	"github.com/instruktai/teleclaude/internal/identity"
	"github.com/instruktai/teleclaude/internal/layout"
	"github.com/instruktai/teleclaude/internal/logging"
	"github.com/instruktai/teleclaude/internal/osuser"
	"github.com/instruktai/teleclaude/internal/sdnotify"
	"github.com/instruktai/teleclaude/internal/sessionhost"
	"github.com/instruktai/teleclaude/internal/sessions"
	"github.com/instruktai/teleclaude/internal/socket"
	"github.com/instruktai/teleclaude/internal/store"
	"github.com/instruktai/teleclaude/internal/version"
	"github.com/sirupsen/logrus"
)

// ConfigError marks a failure caused by configuration (exit code 2).
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// shutdownGrace bounds how long in-flight requests may take once SIGTERM
// arrives; systemd's TimeoutStopSec is longer.
const shutdownGrace = 20 * time.Second

// Daemon is one running `teleclaude serve`.
type Daemon struct {
	paths    layout.Paths
	decision layout.Decision
	cfg      atomic.Pointer[config.Config]
	// res is the identity ladder of cfg; a reload replaces both, and the
	// API re-decides open connections when it sees a new one.
	res     atomic.Pointer[identity.Resolver]
	store   *store.Store
	schema  int64
	started time.Time
	// Where sessions run, or why they cannot.
	host    *sessionhost.Host
	hostErr error

	orphans orphanCount
	// socketProblem is why the socket could not be made again, once said.
	socketProblem string
}

// orphanCount caches how many sessions belong to no current account.
type orphanCount struct {
	mu sync.Mutex
	at time.Time
	n  int
}

// orphaned counts sessions whose owner's uid has no account now, or maps
// to a person other than the one the session was started for: after an
// account is deleted and its uid given again, those sessions are reachable
// by admins alone, and doctor says so. Asked at most once a minute.
func (d *Daemon) orphaned(ctx context.Context) int {
	d.orphans.mu.Lock()
	defer d.orphans.mu.Unlock()
	if !d.orphans.at.IsZero() && time.Since(d.orphans.at) < time.Minute {
		return d.orphans.n
	}
	owners, err := d.store.Owners(ctx)
	if err != nil {
		return d.orphans.n
	}
	cfg := d.cfg.Load()
	n := 0
	for _, o := range owners {
		u, err := osuser.LookupID(int(o.UID))
		if err != nil {
			if errors.Is(err, osuser.ErrUnknown) {
				n += o.Sessions
			}
			continue
		}
		if o.Account != nil && *o.Account != u.Name {
			// The uid now names another account: a different user, or
			// one renamed; either way not the one who started them.
			n += o.Sessions
			continue
		}
		if d.paths.Mode == layout.SingleUser {
			continue
		}
		if p, ok := cfg.PersonByOSUser(u.Name); !ok || p.Name != o.Person {
			n += o.Sessions
		}
	}
	d.orphans.at, d.orphans.n = time.Now(), n
	return n
}

// Run starts the daemon and blocks until ctx ends or SIGTERM/SIGINT arrives.
func Run(ctx context.Context) error {
	// Signals are caught before anything else: systemd may stop a service
	// that is still starting, and a SIGTERM or SIGHUP arriving before the
	// handlers exist would kill the daemon with the default action, without
	// STOPPING=1 and without closing the database.
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	closeInheritedFDs()

	paths, decision, err := layout.Detect()
	if err != nil {
		return &ConfigError{err}
	}
	cfg, err := config.Load(paths, os.Getenv)
	if err != nil {
		return &ConfigError{err}
	}
	logFile := ""
	if paths.Mode == layout.System && paths.LogDir != "" && logToFile() {
		if logFile, err = logFileIn(paths.LogDir); err != nil {
			return &ConfigError{err}
		}
	}
	where, err := logging.Setup(logging.Options{Level: cfg.Logging.Level, Format: cfg.Logging.Format, File: logFile})
	if err != nil {
		return &ConfigError{err}
	}
	d := &Daemon{paths: paths, decision: decision, started: time.Now()}
	d.setConfig(cfg)

	log := logrus.WithField("version", version.String())
	log.WithFields(logrus.Fields{"mode": decision.Mode, "logs": where}).Infof("starting in %s mode: %s", decision.Mode, decision.Reason)
	if cfg.File != "" {
		log.Infof("config %s: %d people, %d projects, %d agents", cfg.File, len(cfg.People), len(cfg.Projects), len(cfg.Agents))
	} else {
		log.Infof("no config file at %s; single-user defaults", paths.ConfigFile)
	}
	if cfg.SecretsFile != "" {
		log.Infof("secrets read from %s", cfg.SecretsFile) // never what they say
	}
	for _, w := range cfg.Warnings {
		log.Warn(w)
	}
	if note, err := dropInheritedCaps(); err != nil {
		return err
	} else if note != "" {
		log.Info(note)
	}
	// Nothing the daemon creates is for others unless it says so (the
	// socket, the shared docs and each user's directory set their modes).
	setUmask()
	if decision.Mode == layout.System && os.Getuid() == 0 {
		log.Warnf("running as root in system mode; the packaged service runs as %s", layout.ServiceUser(runtime.GOOS))
	}

	if err := d.prepareDirs(); err != nil {
		return err
	}
	if err := d.openStore(ctx); err != nil {
		if ctx.Err() != nil {
			log.Info("stopped before the database was open")
			return nil
		}
		return err
	}
	defer d.store.Close()

	mgr := d.sessionManager()
	// Before anyone may start or end a session, what the database says
	// is running is set straight with what the hosts have.
	mgr.Reconcile(ctx)
	ln, err := d.listen()
	if err != nil {
		return err
	}
	lib := &docs.Library{Shipped: paths.ShippedDocs, Shared: paths.SharedDir, Claim: d.store.ClaimDoc}
	srv := &api.Server{Resolver: d.res.Load, Backend: d, Sessions: mgr, Docs: lib, Limits: connLimits(), ConfigFile: d.paths.ConfigFile}
	hs := srv.HTTPServer()
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(srv.Limit(ln)) }()

	sdnotify.Ready()
	sdnotify.Status("serving on " + cfg.Socket.Path)
	log.WithFields(logrus.Fields{"socket": cfg.Socket.Path, "engine": d.store.Engine(), "schema": d.schema}).Info("ready")

	wctx, stopWatchdog := context.WithCancel(ctx)
	defer stopWatchdog()
	go sdnotify.Watchdog(wctx, d.alive)
	// The recorder stops after the API (deferred calls run last first):
	// nothing it has not read is lost, the next daemon resumes there.
	rctx, stopRecorder := context.WithCancel(context.Background())
	recorded := make(chan struct{})
	go func() { mgr.Run(rctx); close(recorded) }()
	defer func() { stopRecorder(); <-recorded }()

	watch := time.NewTicker(socketCheckEvery)
	defer watch.Stop()
	for {
		select {
		case <-hup:
			d.reload()
		case <-watch.C:
			ln = d.checkSocket(hs, ln, serveErr)
			if ln == nil {
				return errors.New("the daemon's socket was removed (was the run directory deleted?); exiting so that systemd restarts the service and its socket")
			}
		case <-ctx.Done():
			log.Infof("shutting down (%v)", context.Cause(ctx))
			return d.shutdown(hs, ln)
		case err := <-serveErr:
			if errors.Is(err, net.ErrClosed) {
				continue // a listener replaced by checkSocket
			}
			ln.Close()
			return fmt.Errorf("serve: %w", err)
		}
	}
}

// socketCheckEvery is how often the daemon looks for its socket file: a
// removed run directory (an admin's rm -rf, a tmp cleaner) would otherwise
// leave it up and unreachable, saying nothing.
const socketCheckEvery = 2 * time.Second

// underSystemd: systemd started this process as a service.
func underSystemd() bool { return os.Getenv("INVOCATION_ID") != "" || os.Getenv("NOTIFY_SOCKET") != "" }

// checkSocket returns the listener to go on with: ln while its socket
// file is in place; when it is gone, a new one at the same path serving
// hs (logged), or nil under systemd, where the unit's restart recreates
// the directories the daemon may not.
func (d *Daemon) checkSocket(hs *http.Server, ln *socket.Listener, serveErr chan<- error) *socket.Listener {
	if !ln.Gone() {
		return ln
	}
	log := logrus.WithField("socket", ln.Path())
	if underSystemd() {
		log.Error("the daemon's socket was removed; exiting so that systemd restarts the service")
		return nil
	}
	err := d.prepareDirs()
	var nl *socket.Listener
	if err == nil {
		nl, err = d.listen()
	}
	if err != nil {
		// Said once (until it changes): it is tried again every round.
		if err.Error() != d.socketProblem {
			log.WithError(err).Error("the daemon's socket was removed (was the run directory deleted?), and cannot be made again; nobody can reach the daemon until an admin restores the directory or restarts it")
		}
		d.socketProblem = err.Error()
		return ln
	}
	d.socketProblem = ""
	go func() { serveErr <- hs.Serve(nl) }()
	ln.Close()
	log.Warn("the daemon's socket was removed (was the run directory deleted?); made it again")
	return nl
}

// shutdown stops accepting, lets in-flight requests finish, and returns; the
// deferred store.Close releases the database and its lock.
func (d *Daemon) shutdown(hs *http.Server, ln *socket.Listener) error {
	sdnotify.Stopping()
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	err := hs.Shutdown(ctx)
	ln.Close()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	logrus.Info("stopped")
	return nil
}

// reload re-reads the config on SIGHUP. People, roles, projects and agents
// take effect for the next connection; a broken file keeps the running
// config. Database and socket settings need a restart.
func (d *Daemon) reload() {
	sdnotify.Reloading()
	defer sdnotify.Ready()
	cfg, err := config.Load(d.paths, os.Getenv)
	if err != nil {
		logrus.WithError(err).Error("reload failed; keeping the running config")
		return
	}
	old := d.cfg.Load()
	if cfg.Database != old.Database || cfg.Socket != old.Socket {
		logrus.Warn("reload: database and socket changes take effect at the next restart")
	}
	for _, w := range cfg.Warnings {
		logrus.Warn(w)
	}
	d.setConfig(cfg)
	d.orphans.mu.Lock()
	d.orphans.at = time.Time{} // people may have changed
	d.orphans.mu.Unlock()
	logrus.Infof("reloaded %s: %d people, %d projects, %d agents", cfg.File, len(cfg.People), len(cfg.Projects), len(cfg.Agents))
}

// setConfig makes cfg current, with its identity ladder.
func (d *Daemon) setConfig(cfg *config.Config) {
	d.cfg.Store(cfg)
	d.res.Store(d.resolver(cfg))
	if d.store != nil {
		d.store.SetQuotas(quotas(cfg))
	}
}

// quotas are the config's per-person limits as the store enforces them.
func quotas(cfg *config.Config) store.Quotas {
	tb, db, dc := cfg.Quotas()
	return store.Quotas{TranscriptBytes: tb, DocBytes: db, DocCount: dc}
}

// connLimits are the API's connection limits, lowered to fit the
// descriptors this process may open: half of them at most, the rest left
// to the database, the session hosts and the logs.
func connLimits() api.Limits {
	lim := api.DefaultLimits
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err == nil && rl.Cur < uint64(2*lim.Total) {
		lim.Total = max(int(rl.Cur/2), 2*lim.Reserve)
		if lim.Total <= 2*lim.Reserve {
			lim.Reserve = lim.Total / 4
		}
		logrus.Warnf("open-file limit is %d; serving at most %d connections (raise LimitNOFILE to %d for the full %d)", rl.Cur, lim.Total, 2*api.DefaultLimits.Total, api.DefaultLimits.Total)
	}
	return lim
}

// resolver builds the identity ladder for cfg.
func (d *Daemon) resolver(cfg *config.Config) *identity.Resolver {
	return &identity.Resolver{
		SingleUser: d.paths.Mode == layout.SingleUser,
		DaemonUID:  os.Getuid(),
		Person: func(osUser string) (string, identity.Role, bool) {
			p, ok := cfg.PersonByOSUser(osUser)
			if !ok {
				return "", 0, false
			}
			return p.Name, p.RoleValue(), true
		},
	}
}

func (d *Daemon) prepareDirs() error {
	cfg := d.cfg.Load()
	if d.paths.Mode == layout.SingleUser {
		if err := socket.EnsurePrivateDir(filepath.Dir(cfg.Socket.Path)); err != nil {
			return err
		}
		if err := os.MkdirAll(d.paths.DataDir, 0o700); err != nil {
			return fmt.Errorf("create data directory: %w", err)
		}
		return nil
	}
	// In system mode systemd (RuntimeDirectory=, StateDirectory=) or the
	// package prepares these; creating a missing one here covers launchd,
	// which has no such settings, and a test's private tree. The socket's
	// directory must let users through to it; the data is the daemon's.
	for _, dir := range []struct {
		path string
		mode os.FileMode
	}{{filepath.Dir(cfg.Socket.Path), 0o755}, {d.paths.DataDir, 0o700}} {
		if err := mkdirMode(dir.path, dir.mode); err != nil {
			return fmt.Errorf("create %s: %w (the package normally creates it; reinstall, or set the TELECLAUDE_*_DIR variables)", dir.path, err)
		}
	}
	// Without the shared docs directory only `telec docs put` fails.
	if err := mkdirMode(d.paths.SharedDir, 0o755); err != nil {
		logrus.WithError(err).Warnf("shared docs directory %s; telec docs put will fail until it exists and the daemon may write it", d.paths.SharedDir)
	}
	return nil
}

// mkdirMode creates dir (and its parents) if it is missing, giving the
// directory itself mode despite the daemon's umask; an existing one is
// left as its owner made it.
func mkdirMode(dir string, mode os.FileMode) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, mode); err != nil {
		return err
	}
	return os.Chmod(dir, mode)
}

// logFileIn returns the daemon's log file in dir, creating dir if it is
// missing: launchd, unlike systemd's LogsDirectory=, makes none.
func logFileIn(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", fmt.Errorf("create log directory: %w (the package normally creates it; reinstall, or set %s)", err, layout.EnvLogDir)
	}
	return filepath.Join(dir, "teleclaude.log"), nil
}

func (d *Daemon) openStore(ctx context.Context) error {
	cfg := d.cfg.Load()
	sc := store.Config{Engine: store.Engine(cfg.Database.Engine), Path: cfg.Database.Path}
	if sc.Engine == store.PostgreSQL {
		sc.DSN = cfg.DatabaseDSN(os.Getenv)
	}
	host, _ := os.Hostname()
	holder := fmt.Sprintf("teleclaude serve pid %d on %s as uid %d since %s", os.Getpid(), host, os.Getuid(), d.started.UTC().Format(time.RFC3339))
	octx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	st, err := store.Open(octx, sc, store.WithHolder(holder))
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	v, err := st.SchemaVersion(octx)
	if err != nil {
		st.Close()
		return fmt.Errorf("database: %w", err)
	}
	d.store, d.schema = st, v
	st.SetQuotas(quotas(d.cfg.Load()))
	return nil
}

func (d *Daemon) listen() (*socket.Listener, error) {
	ln, err := socket.Activated()
	if err != nil {
		return nil, err
	}
	if ln != nil {
		logrus.Info("using the socket passed by systemd")
		return ln, nil
	}
	cfg := d.cfg.Load()
	return socket.Listen(socket.Options{Path: cfg.Socket.Path, Mode: cfg.SocketMode(), Group: cfg.Socket.Group})
}

// alive gates watchdog pings: a daemon that cannot reach its database is not
// well, and systemd should restart it.
func (d *Daemon) alive() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return d.store.Ping(ctx) == nil
}

// Status implements api.Backend.
func (d *Daemon) Status(ctx context.Context) (apitype.Status, error) {
	cfg := d.cfg.Load()
	st := apitype.Status{
		Version:      version.String(),
		Mode:         string(d.paths.Mode),
		Computer:     cfg.Computer.Name,
		Socket:       cfg.Socket.Path,
		PID:          os.Getpid(),
		StartedAt:    d.started.UTC(),
		Uptime:       time.Since(d.started).Seconds(),
		Database:     apitype.DatabaseStatus{Engine: string(d.store.Engine()), SchemaVersion: d.schema},
		Projects:     make([]string, 0, len(cfg.Projects)),
		Agents:       make([]string, 0, len(cfg.Agents)),
		DefaultAgent: cfg.Sessions.DefaultAgent,
		Sessions:     apitype.SessionsStatus{Available: d.hostErr == nil},
	}
	for _, p := range cfg.Projects {
		st.Projects = append(st.Projects, p.Name)
	}
	for name := range cfg.Agents {
		st.Agents = append(st.Agents, name)
	}
	sort.Strings(st.Projects)
	sort.Strings(st.Agents)
	st.Sessions.Orphaned = d.orphaned(ctx)
	if d.hostErr != nil {
		st.Sessions.Problem = d.hostErr.Error()
	} else {
		st.Sessions.Host = string(d.host.Kind())
	}
	return st, nil
}

// Healthy implements api.Backend: healthy means able to write (room on
// the disk, the database's write lock and, on PostgreSQL, the instance
// lock), not only able to read.
func (d *Daemon) Healthy(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return d.store.Healthy(ctx)
}

// sessionManager sets up where sessions run. When they cannot run here
// (no tmux, say) the daemon still serves everything else, and starting a
// session says why not.
func (d *Daemon) sessionManager() *sessions.Manager {
	cfg := d.cfg.Load()
	o := sessions.Options{
		Store: d.store, Config: d.cfg.Load, SystemMode: d.paths.Mode == layout.System, DaemonUID: os.Getuid(),
		MaxOutput: cfg.Sessions.TranscriptMaxBytes,
	}
	o.Host, o.HostErr = d.sessionHost(cfg)
	if o.HostErr != nil {
		logrus.WithError(o.HostErr).Warn("sessions cannot run on this machine")
	} else {
		logrus.WithField("host", o.Host.Kind()).Info("sessions run as their owners")
	}
	d.host, d.hostErr = o.Host, o.HostErr
	return sessions.New(o)
}

func (d *Daemon) sessionHost(cfg *config.Config) (*sessionhost.Host, error) {
	bin, err := exec.LookPath(cfg.Sessions.Tmux)
	if err != nil {
		return nil, fmt.Errorf("tmux is not installed (sessions.tmux is %q): install tmux: %w", cfg.Sessions.Tmux, err)
	}
	bin, err = filepath.Abs(bin)
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("cannot find this program, which runs each user's session host: %w", err)
	}
	kind := sessionhost.Direct
	switch {
	case d.paths.Mode == layout.SingleUser:
		// Every session is the daemon's own user's: no switching at all.
	case cfg.Sessions.Host == config.HostSystemd:
		kind = sessionhost.Systemd
	case cfg.Sessions.Host == config.HostAuto:
		kind = sessionhost.Detect()
	}
	if kind == sessionhost.Direct && d.paths.Mode == layout.System {
		if err := sessionhost.CanSwitch(); err != nil {
			return nil, err
		}
	}
	return sessionhost.New(sessionhost.Config{
		RunDir: d.paths.RunDir, Tmux: bin, Kind: kind, DaemonUID: os.Getuid(), Self: self,
	})
}
