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
	"time"

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
	// Resolver returns the identity ladder of the current config; it is
	// called per connection so a reload applies to the next connection.
	Resolver func() *identity.Resolver
	Backend  Backend
	Sessions Sessions
	Docs     Docs
	// Trace, when set, is told about every identity decision (tests use it).
	Trace func(identity.Identity)

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
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          nil,
	}
}

// ConnContext reads the peer credentials of a new connection and stores who
// it is. Failure to read them is not an error for the connection: it makes
// the caller public, with the reason logged.
func (s *Server) ConnContext(ctx context.Context, c net.Conn) context.Context {
	var id identity.Identity
	creds, err := peercred.Get(c)
	if err != nil {
		id = identity.Identity{UID: -1, Role: identity.Public, Reason: "no peer credentials (" + err.Error() + ") → public"}
	} else {
		id = s.Resolver().Resolve(creds)
	}
	logrus.WithFields(logrus.Fields{"uid": id.UID, "pid": id.PID, "person": id.Person, "role": id.Role.String()}).Debug("identity: " + id.Reason)
	if s.Trace != nil {
		s.Trace(id)
	}
	return context.WithValue(ctx, ctxKey{}, id)
}

// IdentityFrom returns the caller decided by ConnContext. A request that did
// not come through ConnContext is public.
func IdentityFrom(ctx context.Context) identity.Identity {
	if id, ok := ctx.Value(ctxKey{}).(identity.Identity); ok {
		return id
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
		id := IdentityFrom(r.Context())
		if !id.Role.AtLeast(rt.min) {
			writeError(w, r, errdefs.Forbiddenf("%s %s needs role %s or higher; you are %s", r.Method, r.URL.Path, rt.min, describe(id)))
			return
		}
		if err := rt.h(w, r, id); err != nil {
			writeError(w, r, err)
		}
	})
}

func describe(id identity.Identity) string {
	if id.Person == "" {
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
