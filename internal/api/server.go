// Package api serves TeleClaude's HTTP/JSON API on the daemon's Unix socket.
//
// Who calls is decided once per connection from the kernel's peer
// credentials (never from anything the client sends) and kept in the
// request context. Every route declares the lowest role allowed to call it;
// a route without one cannot be registered.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/instruktai/teleclaude/internal/errdefs"
	"github.com/instruktai/teleclaude/internal/identity"
	"github.com/instruktai/teleclaude/internal/peercred"
	"github.com/sirupsen/logrus"
)

// MaxBody is the largest request body accepted (413 above it).
const MaxBody = 1 << 20

// Host is the HTTP Host clients use on the socket (`curl --unix-socket S
// http://teleclaude/v1/whoami`).
const Host = "teleclaude"

// Server is the API. Fill the fields, then serve Handler with the connection
// context from ConnContext (HTTPServer does both).
type Server struct {
	// Resolver returns the identity ladder of the current config, the same
	// pointer until a reload replaces it: a connection's identity is
	// decided again whenever the pointer it was decided with is no longer
	// current, so a reload reaches kept-alive connections too.
	Resolver func() *identity.Resolver
	// Limits bound the connections Limit admits (DefaultLimits where zero).
	Limits   Limits
	Backend  Backend
	Sessions Sessions
	Docs     Docs
	// Trace, when set, is told about every identity decision (tests use it).
	Trace func(identity.Identity)
	// ConfigFile is where people: and their roles are set, for the advice
	// to a caller whose role is too low.
	ConfigFile string

	mux   *http.ServeMux
	lists listCache
}

type ctxKey struct{}

type handlerFunc func(w http.ResponseWriter, r *http.Request, id identity.Identity) error

// route is one entry of the route table. min is required: the zero Role is
// invalid and registration panics on it.
type route struct {
	method string
	path   string
	min    identity.Role
	h      handlerFunc
}

// HTTPServer returns an http.Server for this API with sane timeouts.
func (s *Server) HTTPServer() *http.Server {
	return &http.Server{
		Handler:           s.Handler(),
		ConnContext:       s.ConnContext,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          nil,
	}
}

// connIdentity is who is at the other end of one connection: the kernel's
// credentials, read once at accept, and what the ladder made of them under
// the resolver that was current then.
type connIdentity struct {
	creds   peercred.Creds
	credErr error

	mu  sync.Mutex
	res *identity.Resolver
	id  identity.Identity
}

// ConnContext reads the peer credentials of a new connection and stores who
// it is. Failure to read them is not an error for the connection: it makes
// the caller public, with the reason logged.
func (s *Server) ConnContext(ctx context.Context, c net.Conn) context.Context {
	ci := &connIdentity{}
	if lc, ok := c.(*limitedConn); ok {
		ci.creds, ci.credErr = lc.creds, lc.credErr
	} else {
		ci.creds, ci.credErr = peercred.Get(c)
	}
	s.current(ci)
	return context.WithValue(ctx, ctxKey{}, ci)
}

// current returns the connection's identity under the current resolver,
// deciding it again if a reload replaced the resolver since.
func (s *Server) current(ci *connIdentity) identity.Identity {
	res := s.Resolver()
	ci.mu.Lock()
	defer ci.mu.Unlock()
	if ci.res == res && ci.res != nil {
		return ci.id
	}
	var id identity.Identity
	if ci.credErr != nil {
		id = identity.Identity{UID: -1, Role: identity.Public, Reason: "no peer credentials (" + ci.credErr.Error() + ") → public"}
	} else {
		id = res.Resolve(ci.creds)
	}
	logrus.WithFields(logrus.Fields{"uid": id.UID, "pid": id.PID, "person": id.Person, "role": id.Role.String()}).Debug("identity: " + id.Reason)
	if s.Trace != nil {
		s.Trace(id)
	}
	ci.res, ci.id = res, id
	return id
}

// identityOf returns the caller of r as of now (see current). A request
// that did not come through ConnContext is public.
func (s *Server) identityOf(r *http.Request) identity.Identity {
	if ci, ok := r.Context().Value(ctxKey{}).(*connIdentity); ok {
		return s.current(ci)
	}
	return IdentityFrom(r.Context())
}

// IdentityFrom returns the caller as ConnContext last decided it. A request
// that did not come through ConnContext is public.
func IdentityFrom(ctx context.Context) identity.Identity {
	if ci, ok := ctx.Value(ctxKey{}).(*connIdentity); ok {
		ci.mu.Lock()
		defer ci.mu.Unlock()
		return ci.id
	}
	return identity.Identity{UID: -1, Role: identity.Public, Reason: "no connection identity → public"}
}

// Handler returns the API's http.Handler.
func (s *Server) Handler() http.Handler {
	if s.mux == nil {
		s.mux = http.NewServeMux()
		s.register(s.routes())
	}
	return s.mux
}

func (s *Server) register(routes []route) {
	byPath := map[string]map[string]route{}
	for _, rt := range routes {
		if !rt.min.Valid() {
			panic(fmt.Sprintf("api: route %s %s declares no minimum role", rt.method, rt.path))
		}
		if byPath[rt.path] == nil {
			byPath[rt.path] = map[string]route{}
		}
		byPath[rt.path][rt.method] = rt
	}
	for path, methods := range byPath {
		s.mux.Handle(path, s.dispatch(methods))
	}
	s.mux.Handle("/", s.guard(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, errdefs.NotFoundf("no such endpoint: %s %s", r.Method, r.URL.Path))
	}))
}

// dispatch picks the route for the method, enforces its minimum role and
// runs it.
func (s *Server) dispatch(methods map[string]route) http.Handler {
	allowed := make([]string, 0, len(methods))
	for m := range methods {
		allowed = append(allowed, m)
	}
	sort.Strings(allowed)
	allow := strings.Join(allowed, ", ")
	return s.guard(func(w http.ResponseWriter, r *http.Request) {
		rt, ok := methods[r.Method]
		if !ok && r.Method == http.MethodHead {
			rt, ok = methods[http.MethodGet]
		}
		if !ok {
			w.Header().Set("Allow", allow)
			reject(w, http.StatusMethodNotAllowed, "method_not_allowed", "%s is not allowed on %s (allowed: %s)", r.Method, r.URL.Path, allow)
			return
		}
		id := s.identityOf(r)
		if !id.Role.AtLeast(rt.min) {
			writeError(w, r, s.roleRefusal(rt, id))
			return
		}
		if err := rt.h(w, r, id); err != nil {
			writeError(w, r, err)
		}
	})
}

// roleRefusal says, in words for the caller, what they tried, that their
// role does not allow it, and whom to ask: a public caller (in the
// socket's group, in no people: entry) to be added, a person for a role.
func (s *Server) roleRefusal(rt route, id identity.Identity) error {
	what := actions[rt.method+" "+rt.path]
	if what == "" {
		what = rt.method + " " + rt.path
	}
	file := s.ConfigFile
	if file == "" {
		file = "the system config"
	}
	err := errdefs.Forbiddenf("%s needs role %s or higher; you are %s", what, rt.min, describe(id))
	if id.Person == "" {
		account := id.OSUsername
		if account == "" {
			account = fmt.Sprintf("uid %d", id.UID)
		}
		return errdefs.WithFix(err, fmt.Sprintf("ask an admin to add you to people: in %s (your account: %s)", file, account))
	}
	return errdefs.WithFix(err, fmt.Sprintf("ask an admin to give %s role %s or higher under people: in %s", id.Person, rt.min, file))
}

// actions names what each route does, for refusals people read.
var actions = map[string]string{
	"GET /v1/sessions":                 "listing sessions",
	"POST /v1/sessions":                "starting a session",
	"GET /v1/sessions/{id}":            "showing a session",
	"POST /v1/sessions/{id}/input":     "typing into a session",
	"GET /v1/sessions/{id}/transcript": "reading a transcript",
	"POST /v1/sessions/{id}/end":       "ending a session",
	"GET /v1/sessions/{id}/attach":     "attaching to a session",
	"GET /v1/audit":                    "reading the audit log",
	"GET /v1/audit/mine":               "reading the audit records of your sessions",
	"PUT /v1/docs/{name}":              "adding a doc",
}

func describe(id identity.Identity) string {
	if id.Person == "" {
		if id.OSUsername != "" {
			return fmt.Sprintf("%s (uid %d), in no people: entry, so %s", id.OSUsername, id.UID, id.Role)
		}
		return fmt.Sprintf("uid %d with role %s", id.UID, id.Role)
	}
	return fmt.Sprintf("%s with role %s", id.Person, id.Role)
}

// guard refuses browser-shaped requests and caps the body size before any
// handler runs. A web page can make a browser send requests to local
// services; such requests carry Origin, Referer or Sec-Fetch-* headers, or a
// Host that is not ours, and a local daemon must never act on them.
func (s *Server) guard(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, h := range []string{"Origin", "Referer", "Sec-Fetch-Site", "Sec-Fetch-Mode"} {
			if r.Header.Get(h) != "" {
				reject(w, http.StatusForbidden, "browser_request", "requests with a %s header are refused: the API is for local programs, not web pages", h)
				return
			}
		}
		if host := hostOnly(r.Host); host != Host && host != "localhost" && host != "" {
			reject(w, http.StatusForbidden, "bad_host", "unexpected Host %q; use http://%s/", r.Host, Host)
			return
		}
		if r.ContentLength > MaxBody {
			reject(w, http.StatusRequestEntityTooLarge, "too_large", "request body is %d bytes, over the %d-byte limit", r.ContentLength, MaxBody)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
		withPreferences(next)(w, r)
	})
}

func hostOnly(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		return host
	}
	return h
}

// readJSON decodes the request body into v: exactly one JSON value, no
// unknown fields, nothing after it.
func readJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return err
		case errors.Is(err, io.EOF):
			return errdefs.Invalidf("request body is empty; send a JSON object")
		default:
			return errdefs.Invalidf("bad JSON body: %v", err)
		}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return errdefs.Invalidf("bad JSON body: unexpected content after the JSON value")
	}
	return nil
}
