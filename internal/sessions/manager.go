// Package sessions runs terminal and agent sessions for the people of a
// machine and enforces who may do what with them (docs/DESIGN.md, "Request path"): starting one
// in a configured project as its owner's own user, seeing, reading,
// typing into and ending sessions, and the audit records an admin's look
// at someone else's session leaves.
package sessions

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/instruktai/teleclaude/internal/ansi"
	"github.com/instruktai/teleclaude/internal/config"
	"github.com/instruktai/teleclaude/internal/errdefs"
	"github.com/instruktai/teleclaude/internal/identity"
	"github.com/instruktai/teleclaude/internal/sessionhost"
	"github.com/instruktai/teleclaude/internal/store"
	"github.com/instruktai/teleclaude/internal/tmux"
	"github.com/sirupsen/logrus"
)

// Notice is what every session start tells its owner.
const Notice = "Sessions on this system are subject to admin audit."

// Session statuses.
const (
	Starting = "starting" // being created (for a moment)
	Running  = "running"
	Exited   = "exited" // the program ended by itself (exit_code says how)
	Ended    = "ended"  // ended through the API
	Lost     = "lost"   // its tmux server or session vanished
)

// Audit actions: an admin acting on a session that is not theirs.
const (
	ActionTranscriptRead = "transcript.read"
	ActionEnd            = "session.end"
)

// Limits on what a caller may send.
const (
	MaxInput = 64 << 10
	MaxTitle = 200
)

// agentPath is where agents' commands are looked up unless the agent's env
// sets PATH; it is also the sessions' PATH.
const agentPath = "/usr/local/bin:/usr/bin:/bin"

// Options configure a Manager.
type Options struct {
	Store  *store.Store
	Config func() *config.Config // the current config (reloads swap it)
	// Host runs each owner's sessions; nil means sessions cannot run here,
	// and HostErr says why.
	Host    *sessionhost.Host
	HostErr error
	// SystemMode applies the system-mode owner rules (min_uid, not the
	// service user).
	SystemMode bool
	DaemonUID  int
	// Poll is how often output logs are read (default 250ms); status is
	// checked every fourth poll.
	Poll time.Duration
	// MaxOutput is how much of a session's output is kept in its
	// transcript (default DefaultMaxOutput); past it, output is counted and
	// dropped, and the transcript says so once.
	MaxOutput int64
}

// DefaultMaxOutput is the default of Options.MaxOutput.
const DefaultMaxOutput = 64 << 20

// Manager is the session service.
type Manager struct {
	o Options

	mu    sync.Mutex
	live  map[string]*live       // running sessions being recorded
	locks map[string]*sync.Mutex // per session: input and output append in turn

	// gen counts changes to what lists show (a session created, its
	// status changed, removed). It moves after the change is written, so
	// a list read under a generation is never older than it.
	gen atomic.Uint64

	checking map[int64]bool // owners whose host is being asked, under mu
	bg       sync.WaitGroup // the recorder's goroutines beside its loop

	buf *drainBuf // the log reads' buffers while output comes, under mu
}

// Generation changes whenever any session's listed metadata may have; a
// list cached under one generation is current while it lasts.
func (m *Manager) Generation() uint64 { return m.gen.Load() }

// createRow inserts s unless its owner already runs max sessions; the
// store counts and inserts at once, so concurrent starts cannot all pass.
func (m *Manager) createRow(ctx context.Context, s *store.Session, max int) error {
	defer m.gen.Add(1)
	err := m.o.Store.CreateSessionWithin(ctx, s, []string{Starting, Running}, max)
	var le *store.LimitError
	if errors.As(err, &le) {
		return errdefs.Conflictf("you have %d sessions running, the most this machine allows one person (sessions.max_running); end one first", le.Have)
	}
	return err
}

// transition moves a session to status from one of from; a session whose
// status another party changed first gives store.ErrStatusChanged.
func (m *Manager) transition(ctx context.Context, id string, from []string, status string, exit *int, ended *time.Time) error {
	defer m.gen.Add(1)
	return m.o.Store.TransitionSession(ctx, id, from, status, exit, ended)
}

func (m *Manager) deleteRow(ctx context.Context, id string) error {
	defer m.gen.Add(1)
	return m.o.Store.DeleteSession(ctx, id)
}

// New returns a Manager; call Reconcile, then Run.
func New(o Options) *Manager {
	if o.Poll <= 0 {
		o.Poll = 250 * time.Millisecond
	}
	if o.MaxOutput <= 0 {
		o.MaxOutput = DefaultMaxOutput
	}
	return &Manager{o: o, live: map[string]*live{}, locks: map[string]*sync.Mutex{}, checking: map[int64]bool{}}
}

// The records the Manager hands out are the store's; these names let its
// callers (the HTTP layer) use them without importing the store.
type (
	Session         = store.Session
	TranscriptEntry = store.TranscriptEntry
	AuditRecord     = store.AuditRecord
)

// StartRequest is what a caller asks to start.
type StartRequest struct {
	Project string
	Agent   string // "" for the default agent
	Title   string
}

// Start starts a session for the caller, as the caller's own OS user, in
// a configured project.
func (m *Manager) Start(ctx context.Context, c identity.Identity, req StartRequest) (store.Session, error) {
	cfg := m.o.Config()
	proj, err := findProject(cfg, req.Project)
	if err != nil {
		return store.Session{}, err
	}
	agentName := req.Agent
	if agentName == "" {
		agentName = cfg.Sessions.DefaultAgent
	}
	agent, ok := cfg.Agents[agentName]
	if !ok || agentName == "" {
		return store.Session{}, errdefs.Invalidf("unknown agent %q; this machine has: %s", agentName, strings.Join(sortedKeys(cfg.Agents), ", "))
	}
	if !agent.MayStart(c.Person, c.Role) {
		return store.Session{}, errdefs.Forbiddenf("agent %s is for %s; you are %s (%s): ask an admin", agentName, agent.StartedBy(), c.Person, c.Role)
	}
	if err := checkTitle(req.Title); err != nil {
		return store.Session{}, err
	}
	if err := m.checkOwner(cfg, c); err != nil {
		return store.Session{}, err
	}
	uid := int64(c.UID)
	if st, err := os.Stat(proj.Path); err != nil || !st.IsDir() {
		return store.Session{}, errdefs.Unavailablef("project %s: its directory %s is missing or not a directory; ask an admin to restore it or fix the config", proj.Name, proj.Path)
	}
	env := agentEnv(cfg, agent)
	if _, err := sessionhost.LookPath(agent.Command[0], env["PATH"]); err != nil {
		return store.Session{}, errdefs.Unavailablef("agent %s cannot start: %v; ask an admin to install it or fix the config", agentName, err)
	}
	if m.o.Host == nil {
		return store.Session{}, m.noHost()
	}
	owner, err := sessionhost.LookupOwner(c.UID)
	if err != nil {
		return store.Session{}, errdefs.Unavailablef("your account: %v", err)
	}

	// A session that could record nothing is not started: its transcript
	// is the record an admin's audit rests on.
	if used, max, err := m.o.Store.TranscriptUsage(ctx, c.Person); err != nil {
		return store.Session{}, err
	} else if max > 0 && used >= max {
		return store.Session{}, errdefs.WithFix(errdefs.Quotaf("your transcripts hold %d bytes, the most one person may keep (sessions.person_transcript_max_bytes, %d): a new session could record nothing, so it was not started", used, max),
			"ask an admin to raise sessions.person_transcript_max_bytes")
	}

	person := c.Person
	s := store.Session{
		ID: newID(), OwnerPerson: &person, OwnerUID: &uid, Project: proj.Name, ProjectPath: proj.Path,
		Agent: agentName, Title: req.Title, Status: Starting,
		OwnerAccount: &owner.Username, OwnerHome: &owner.Home,
	}
	s.TmuxName = s.ID
	if err := m.createRow(ctx, &s, cfg.Sessions.MaxRunning); err != nil {
		return store.Session{}, err
	}
	// From here on a failure removes every trace of the session. A client
	// that goes away (Ctrl-C) does not cut the start short halfway.
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), startBudget)
	defer cancel()
	if err := m.launch(lctx, owner, s, agent, env); err != nil {
		m.discard(s)
		return store.Session{}, err
	}
	if err := m.transition(lctx, s.ID, []string{Starting}, Running, nil, nil); err != nil {
		m.discard(s)
		return store.Session{}, err
	}
	m.track(s)
	logrus.WithFields(logrus.Fields{"session": s.ID, "person": c.Person, "uid": c.UID, "project": s.Project, "agent": s.Agent}).Info("session started")
	return m.o.Store.GetSession(lctx, s.ID)
}

// startBudget bounds a start once its row exists: starting the owner's
// host (up to 10s) and the host's start call (up to 25s, see
// sessionhost), with room for the database.
const startBudget = 40 * time.Second

// launch has the owner's host start the session. The agent's spec, API
// keys included, goes to the host over its socket, and from there to the
// session's launcher: never on a command line, never in a file.
func (m *Manager) launch(ctx context.Context, owner sessionhost.Owner, s store.Session, agent config.Agent, env map[string]string) error {
	host, err := m.o.Host.Ensure(ctx, owner)
	if err != nil {
		return errdefs.Unavailablef("cannot start your session host: %w", err)
	}
	if _, _, err := host.StartSession(ctx, s.ID, s.ProjectPath, agent.Command, env); err != nil {
		refused := errdefs.Unavailablef("the session could not start: %w", err)
		if strings.Contains(err.Error(), " cannot enter "+s.ProjectPath) {
			refused = errdefs.WithFix(refused, "ask an admin to open "+s.ProjectPath+" to you (or to take the project off), or start in another project: telec status lists them")
		}
		return refused
	}
	return nil
}

// discard removes a session whose start failed: its row now, and whatever
// its host may have made of it as soon as the host answers.
func (m *Manager) discard(s store.Session) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	err := m.deleteRow(ctx, s.ID)
	cancel()
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		// A row left starting would count against its owner's
		// max_running until the next restart: keep trying.
		logrus.WithError(err).WithField("session", s.ID).Warn("could not remove a session whose start failed; trying again")
		go func() {
			for wait := time.Second; ; wait = min(2*wait, 30*time.Second) {
				time.Sleep(wait)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				err := m.deleteRow(ctx, s.ID)
				cancel()
				if err == nil || errors.Is(err, store.ErrNotFound) {
					return
				}
				if wait == 30*time.Second {
					logrus.WithError(err).WithField("session", s.ID).Error("still cannot remove a session whose start failed; the next start of the daemon will")
					return
				}
			}
		}()
	}
	if m.o.Host == nil || s.OwnerUID == nil {
		return
	}
	// Not the recorder's: it touches no database, and may outlive a stop.
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		m.o.Host.Client(int(*s.OwnerUID)).Kill(ctx, s.ID)
		m.removeFiles(s)
	}()
}

// removeFiles removes a finished session's output log and exit status,
// and again a little later: a launcher the kill reached writes its status
// as it goes, possibly just after the first removal.
func (m *Manager) removeFiles(s store.Session) {
	rm := func() {
		os.Remove(m.logPath(s))
		os.Remove(m.exitPath(s))
	}
	rm()
	time.AfterFunc(5*time.Second, rm)
}

// logPath is the session's output log; exitPath where its exit status goes.
// The owner's host creates both in the owner's directory.
func (m *Manager) logPath(s store.Session) string {
	return filepath.Join(m.o.Host.Dir(int(*s.OwnerUID)), s.ID+".out")
}

func (m *Manager) exitPath(s store.Session) string {
	return filepath.Join(m.o.Host.Dir(int(*s.OwnerUID)), s.ID+".exit")
}

// checkOwner applies the owner rules in system mode: never the
// service user, never a system account below sessions.min_uid. In
// single-user mode the daemon's own user owns every session by design.
func (m *Manager) checkOwner(cfg *config.Config, c identity.Identity) error {
	if !m.o.SystemMode {
		return nil
	}
	if c.UID == m.o.DaemonUID {
		return errdefs.Forbiddenf("the service user (uid %d) cannot own sessions: a session running as it could read and rewrite everything the daemon keeps", c.UID)
	}
	if c.UID < cfg.MinUID() {
		return errdefs.Forbiddenf("uid %d (%s) is below sessions.min_uid (%d): system accounts cannot own sessions", c.UID, c.OSUsername, cfg.MinUID())
	}
	return nil
}

func findProject(cfg *config.Config, name string) (config.Project, error) {
	var names []string
	for _, p := range cfg.Projects {
		if p.Name == name {
			return p, nil
		}
		names = append(names, p.Name)
	}
	if name == "" {
		return config.Project{}, errdefs.Invalidf("no project given; sessions start in a configured project: %s", listOrNone(names))
	}
	return config.Project{}, errdefs.Invalidf("unknown project %q: sessions start only in configured projects: %s", name, listOrNone(names))
}

func listOrNone(names []string) string {
	if len(names) == 0 {
		return "(none configured; ask an admin)"
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func checkTitle(t string) error {
	if utf8.RuneCountInString(t) > MaxTitle {
		return errdefs.Invalidf("title is %d characters; at most %d", utf8.RuneCountInString(t), MaxTitle)
	}
	for i, r := range t {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return errdefs.Invalidf("title has a control character or invalid UTF-8 at byte %d", i)
		}
		// Bidi overrides and invisible characters make a title read as
		// something it is not, in everyone's list.
		if ansi.Unsafe(r) {
			return errdefs.Invalidf("title has invisible or direction-changing character %U at byte %d", r, i)
		}
	}
	return nil
}

// checkInput refuses input a person would not type: control characters
// (escape sequences could drive the terminal) other than newline and tab.
func checkInput(text string) error {
	if len(text) > MaxInput {
		return errdefs.Invalidf("input is %d bytes; at most %d per send", len(text), MaxInput)
	}
	for i, r := range text {
		if r == utf8.RuneError && !strings.HasPrefix(text[i:], "\uFFFD") {
			return errdefs.Invalidf("input is not valid UTF-8 (byte %d)", i)
		}
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			return errdefs.Invalidf("input has control character %U at byte %d; send plain text (newlines and tabs are fine)", r, i)
		}
	}
	return nil
}

// agentEnv is what a session adds to its owner's environment: PATH, the
// agent's env, and the API keys it names from the secrets.
func agentEnv(cfg *config.Config, a config.Agent) map[string]string {
	env := map[string]string{"PATH": agentPath}
	for k, v := range a.Env {
		env[k] = v
	}
	for _, k := range a.SecretsEnv {
		if v, ok := cfg.Secrets.AgentEnv[k]; ok {
			env[k] = v
		}
	}
	return env
}

// newID returns a session id: ten characters of Crockford's base32 (50
// bits), short enough to type, safe as a tmux session and file name.
func newID() string {
	const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
	b := make([]byte, 10)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	for i := range b {
		b[i] = alphabet[b[i]&31]
	}
	return string(b)
}

// noHost is the answer when sessions cannot run here, and why.
func (m *Manager) noHost() error {
	return errdefs.Unavailablef("sessions cannot run on this machine: %v", m.o.HostErr)
}

// load reads a session by id, for any caller: unknown ids are NotFound.
// It decides nothing about who may see the session; every caller applies
// its own rule from rules.go to what it returns, before answering.
func (m *Manager) load(ctx context.Context, id string) (store.Session, error) {
	if len(id) > 128 {
		return store.Session{}, errdefs.Invalidf("session id is %d bytes; ids are short", len(id))
	}
	s, err := m.o.Store.GetSession(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Session{}, errdefs.NotFoundf("no session %q", id)
	}
	if err != nil {
		return store.Session{}, err
	}
	return s, nil
}

// forbidden answers a caller who may not see the session as if it did not
// exist: a 403 would tell them that the id is someone's.
func forbidden(id string) error {
	return errdefs.NotFoundf("no session %q", id)
}

// List returns the sessions the caller may see, by project then age:
// admins all of them, everybody else their own.
func (m *Manager) List(ctx context.Context, c identity.Identity) ([]store.Session, error) {
	return m.o.Store.ListSessions(ctx, listFilter(c))
}

// Get returns one session's metadata.
func (m *Manager) Get(ctx context.Context, c identity.Identity, id string) (store.Session, error) {
	s, err := m.load(ctx, id)
	if err != nil {
		return store.Session{}, err
	}
	if !canSee(c, s) {
		return store.Session{}, forbidden(id)
	}
	return s, nil
}

// Send types text into the owner's running session, then Enter if enter.
func (m *Manager) Send(ctx context.Context, c identity.Identity, id, text string, enter bool) error {
	s, err := m.load(ctx, id)
	if err != nil {
		return err
	}
	if !canSend(c, s) {
		if c.Role == identity.Admin {
			return errdefs.Forbiddenf("only its owner may type into session %s, admins included", id)
		}
		return forbidden(id)
	}
	if err := checkInput(text); err != nil {
		return err
	}
	if s.Status != Running {
		return errdefs.Conflictf("session %s is %s; input goes only to running sessions", id, s.Status)
	}
	if m.o.Host == nil {
		return m.noHost()
	}
	// The lock keeps the recorder from appending output the program
	// prints in answer before this input; the recorder never waits for
	// it (it reads that session on its next round instead).
	lock := m.lock(id)
	lock.Lock()
	defer lock.Unlock()
	in := text
	if enter {
		in += "\n"
	}
	// Recorded first, delivered second: input that cannot be recorded is
	// not typed, so a client that retries a failed send never types it
	// twice, and nothing reaches a program without a record.
	if _, err := m.o.Store.AppendTranscript(ctx, id, store.TranscriptEntry{Direction: "in", Content: in}); err != nil {
		kind, why, fix := errdefs.Unavailable, "the database refused the write (the daemon's log says why)", ""
		var de *errdefs.Error
		if errors.As(err, &de) {
			kind, why, fix = de.Kind, de.Msg, de.Fix
		}
		return &errdefs.Error{Kind: kind, Err: err, Fix: fix, Msg: fmt.Sprintf("your input was not sent to session %s, because it could not be recorded: %s", id, why)}
	}
	err = m.paste(ctx, int(*s.OwnerUID), s.ID, text, enter)
	if err == nil {
		return nil
	}
	// The record stands, so the transcript says it never arrived.
	note := store.TranscriptEntry{Direction: "out", Content: fmt.Sprintf("\n[teleclaude: the input above was not delivered: %v]\n", err)}
	if _, nerr := m.o.Store.AppendTranscript(context.WithoutCancel(ctx), id, note); nerr != nil {
		logrus.WithError(nerr).WithField("session", id).Error("recording that an input was not delivered")
	}
	if errors.Is(err, sessionhost.ErrNoSession) {
		return errdefs.Conflictf("session %s has just ended; your input was not delivered", id)
	}
	return errdefs.Unavailablef("your input was not delivered to session %s: %w", id, err)
}

// paste types into a session through its owner's host, starting the host
// again if it is gone (its tmux server, and the session, live on).
func (m *Manager) paste(ctx context.Context, uid int, id, text string, enter bool) error {
	err := m.o.Host.Client(uid).Paste(ctx, id, text, enter)
	if !errors.Is(err, sessionhost.ErrNoHost) {
		return err
	}
	c, herr := m.hostFor(ctx, uid)
	if herr != nil {
		return fmt.Errorf("%w (and it could not be started again: %v)", err, herr)
	}
	return c.Paste(ctx, id, text, enter)
}

// A transcript read returns at most MaxPage entries and, past the first
// entry, at most MaxPageBytes of content (entries are at most 64 KiB);
// readers page on with after.
const (
	MaxPage      = 1000
	MaxPageBytes = 4 << 20
)

// Transcript returns a session's entries after seq after, at most limit
// (0 or above MaxPage: MaxPage) and MaxPageBytes; more reports that there
// are entries after these. An admin reading someone else's gets it only
// with asAdmin, and only after the read is in the audit log: every page is
// a read, and each is recorded.
func (m *Manager) Transcript(ctx context.Context, c identity.Identity, id string, asAdmin bool, after int64, limit int) (entries []store.TranscriptEntry, more bool, err error) {
	if limit <= 0 || limit > MaxPage {
		limit = MaxPage
	}
	s, err := m.load(ctx, id)
	if err != nil {
		return nil, false, err
	}
	switch canReadTranscript(c, s, asAdmin) {
	case transcriptDenied:
		return nil, false, forbidden(id)
	case transcriptNeedsFlag:
		return nil, false, errdefs.Forbiddenf("session %s is not yours: reading its transcript needs --as-admin (as_admin=true), and the read is written to the audit log, where its owner sees it", id)
	case transcriptAudited:
		if err := m.audit(ctx, c, ActionTranscriptRead, s, map[string]any{"after": after, "limit": limit}); err != nil {
			return nil, false, err
		}
	}
	// One more than asked tells whether there are more.
	entries, err = m.o.Store.Transcript(ctx, id, after, limit+1)
	if err != nil {
		return nil, false, err
	}
	var size int
	for i, e := range entries {
		size += len(e.Content)
		if i == limit || i > 0 && size > MaxPageBytes {
			return entries[:i], true, nil
		}
	}
	return entries, false, nil
}

// End ends a running session: its owner may, and an admin (audited).
func (m *Manager) End(ctx context.Context, c identity.Identity, id string) (store.Session, error) {
	s, err := m.load(ctx, id)
	if err != nil {
		return store.Session{}, err
	}
	ok, audited := canEnd(c, s)
	if !ok {
		return store.Session{}, forbidden(id)
	}
	switch s.Status {
	case Running:
	case Starting:
		return store.Session{}, errdefs.Conflictf("session %s is still starting; end it once it runs", id)
	default:
		return store.Session{}, errdefs.Conflictf("session %s has already %s", id, s.Status)
	}
	if audited {
		if err := m.audit(ctx, c, ActionEnd, s, nil); err != nil {
			return store.Session{}, err
		}
	}
	if err := m.end(ctx, s, Ended, nil); err != nil {
		return store.Session{}, err
	}
	logrus.WithFields(sessionFields(s)).WithFields(logrus.Fields{"by": c.Person, "uid": c.UID}).Info("session ended")
	return m.o.Store.GetSession(ctx, id)
}

// Attach says how the owner's own tmux reaches the session.
func (m *Manager) Attach(ctx context.Context, c identity.Identity, id string) (socket, target string, err error) {
	s, err := m.load(ctx, id)
	if err != nil {
		return "", "", err
	}
	if !owns(c, s) {
		if !canSee(c, s) {
			return "", "", forbidden(id)
		}
		return "", "", errdefs.Forbiddenf("only its owner may attach to session %s", id)
	}
	if s.Status != Running {
		return "", "", errdefs.Conflictf("session %s is %s; there is nothing to attach to", id, s.Status)
	}
	if m.o.Host == nil {
		return "", "", m.noHost()
	}
	return filepath.Join(m.o.Host.Dir(c.UID), "tmux.sock"), tmux.Target(s.ID), nil
}

// audit writes the record of an admin acting on a session that is not
// theirs; the action goes ahead only once the record is durable.
func (m *Manager) audit(ctx context.Context, c identity.Identity, action string, s store.Session, detail map[string]any) error {
	r := store.AuditRecord{
		ActorUID: int64(c.UID), ActorPID: int64(c.PID), Action: action,
		TargetSessionID: &s.ID, TargetOwnerPerson: s.OwnerPerson, TargetOwnerUID: s.OwnerUID,
	}
	if c.HasPerson() {
		p := c.Person
		r.ActorPerson = &p
	}
	if detail != nil {
		b, err := json.Marshal(detail)
		if err != nil {
			return err
		}
		r.Detail = b
	}
	if _, err := m.o.Store.AppendAudit(ctx, r); err != nil {
		return fmt.Errorf("audit %s of session %s (the action was not done): %w", action, s.ID, err)
	}
	logrus.WithFields(logrus.Fields{"action": action, "session": s.ID, "actor": c.Person, "uid": c.UID, "pid": c.PID}).Info("audited")
	return nil
}

// AuditFilter narrows Audit.
type AuditFilter struct {
	Actor   string
	Session string
	Since   time.Time
	Limit   int
}

// Audit lists audit records (admins only; the API enforces the role).
func (m *Manager) Audit(ctx context.Context, f AuditFilter) ([]store.AuditRecord, error) {
	return m.o.Store.ListAudit(ctx, store.AuditFilter{ActorPerson: f.Actor, SessionID: f.Session, Since: f.Since, Limit: f.Limit})
}

// AuditMine lists the records about the caller's own sessions: an admin's
// look is never silent.
func (m *Manager) AuditMine(ctx context.Context, c identity.Identity, f AuditFilter) ([]store.AuditRecord, error) {
	uid, person, account := int64(c.UID), c.Person, c.OSUsername
	return m.o.Store.ListAudit(ctx, store.AuditFilter{ActorPerson: f.Actor, SessionID: f.Session, Since: f.Since, Limit: f.Limit,
		SessionOwnerUID: &uid, SessionOwnerPerson: &person, SessionOwnerAccount: &account})
}

func (m *Manager) lock(id string) *sync.Mutex {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.locks[id]
	if !ok {
		l = &sync.Mutex{}
		m.locks[id] = l
	}
	return l
}
