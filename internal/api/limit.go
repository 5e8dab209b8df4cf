package api

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/instruktai/teleclaude/internal/apitype"
	"github.com/instruktai/teleclaude/internal/identity"
	"github.com/instruktai/teleclaude/internal/peercred"
	"github.com/sirupsen/logrus"
)

// Limits bound the connections the daemon holds, so that one socket user
// cannot take every descriptor the daemon has (docs/DESIGN.md, "Threat
// model"). Each connection costs one descriptor; the total stays well below
// the daemon's RLIMIT_NOFILE (the packaged unit sets LimitNOFILE=8192), which
// the database, the session hosts and the logs share.
type Limits struct {
	// PerUID is how many connections one uid may hold at once. Every telec
	// command uses one; a person's agents running telec in parallel share
	// them.
	PerUID int
	// Total is how many connections the daemon holds at once.
	Total int
	// Reserve is the part of Total only admins, root and the daemon's own
	// user may take: while everybody else is refused, an admin's
	// `telec whoami`, root's health check and `teleclaude doctor` still
	// get through.
	Reserve int
}

// DefaultLimits are the limits of a daemon that sets none.
var DefaultLimits = Limits{PerUID: 32, Total: 2048, Reserve: 64}

// Connection deadlines. Nothing the API serves streams: a request is read
// whole (at most MaxBody) and answered.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 15 * time.Second // header and body together
	writeTimeout      = 60 * time.Second
	idleTimeout       = 60 * time.Second
	// refuseTimeout bounds what a refused connection may cost: the answer
	// is written, and what the client already sent read, within it.
	refuseTimeout = 100 * time.Millisecond
	// maxRefusing caps refusals in flight, and so the descriptors they
	// hold; past it a refused connection is closed without an answer
	// (only a client that connects and sends nothing gets there).
	maxRefusing = 256
)

// limitListener counts connections by the peer's uid and refuses, with an
// HTTP answer, those over a limit.
type limitListener struct {
	net.Listener
	lim        Limits
	privileged func(peercred.Creds) bool

	mu     sync.Mutex
	perUID map[int]int
	total  int

	refusing chan struct{}
}

// Limit wraps ln so that it hands the HTTP server only connections within
// s.Limits (DefaultLimits where zero); the others are answered 429 or 503
// and closed. Serve the result with HTTPServer.
func (s *Server) Limit(ln net.Listener) net.Listener {
	lim := s.Limits
	if lim.PerUID <= 0 {
		lim.PerUID = DefaultLimits.PerUID
	}
	if lim.Total <= 0 {
		lim.Total = DefaultLimits.Total
	}
	if lim.Reserve < 0 || lim.Reserve >= lim.Total {
		lim.Reserve = min(DefaultLimits.Reserve, lim.Total/2)
	}
	self := os.Getuid()
	return &limitListener{
		Listener: ln,
		lim:      lim,
		perUID:   map[int]int{},
		refusing: make(chan struct{}, maxRefusing),
		// Asked only once the unreserved part is full, so the ladder's
		// account lookup is not paid on every connection.
		privileged: func(c peercred.Creds) bool {
			if c.UID == 0 || c.UID == self {
				return true
			}
			return s.Resolver().Resolve(c).Role == identity.Admin
		},
	}
}

// limitedConn is an admitted connection; closing it gives its place back.
type limitedConn struct {
	net.Conn
	creds   peercred.Creds
	credErr error
	once    sync.Once
	l       *limitListener
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.creds.UID) })
	return err
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		creds, cerr := peercred.Get(c)
		if cerr != nil {
			// Counted together: every connection whose peer is unknown
			// shares one uid's share.
			creds = peercred.Creds{UID: -1, GID: -1}
		}
		status, msg := l.admit(creds)
		if status == 0 {
			return &limitedConn{Conn: c, creds: creds, credErr: cerr, l: l}, nil
		}
		l.refuse(c, creds, status, msg)
	}
}

func (l *limitListener) admit(c peercred.Creds) (int, string) {
	l.mu.Lock()
	n, total := l.perUID[c.UID], l.total
	l.mu.Unlock()
	if n >= l.lim.PerUID {
		return http.StatusTooManyRequests, fmt.Sprintf("uid %d already holds %d connections to the daemon, the most one user may; close some (every telec command holds one while it runs)", c.UID, n)
	}
	if total >= l.lim.Total-l.lim.Reserve && (total >= l.lim.Total || !l.privileged(c)) {
		return http.StatusServiceUnavailable, fmt.Sprintf("the daemon holds %d connections, its limit for now; try again in a moment", total)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	// Re-checked: accepting is one goroutine, but releases run meanwhile
	// and only ever lower the counts, so the check above still holds.
	l.perUID[c.UID]++
	l.total++
	return 0, ""
}

func (l *limitListener) release(uid int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if l.perUID[uid]--; l.perUID[uid] <= 0 {
		delete(l.perUID, uid)
	}
}

// refuse answers c with status and msg and closes it, off the accept loop
// and within refuseTimeout.
func (l *limitListener) refuse(c net.Conn, creds peercred.Creds, status int, msg string) {
	logrus.WithFields(logrus.Fields{"uid": creds.UID, "pid": creds.PID, "status": status}).Debug("connection refused: " + msg)
	select {
	case l.refusing <- struct{}{}:
	default:
		c.Close()
		return
	}
	go func() {
		defer func() { <-l.refusing }()
		defer c.Close()
		c.SetDeadline(time.Now().Add(refuseTimeout))
		code := "too_many_connections"
		if status == http.StatusServiceUnavailable {
			code = "busy"
		}
		body, _ := json.Marshal(apitype.Error{Error: msg, Code: code})
		fmt.Fprintf(c, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\nRetry-After: 1\r\n\r\n%s",
			status, http.StatusText(status), len(body), body)
		// Reading what the client has sent before closing lets it read
		// the answer before it learns of the close.
		if cw, ok := c.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
		c.Read(make([]byte, 4096))
	}()
}
