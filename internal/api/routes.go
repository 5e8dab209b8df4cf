package api

import (
	"context"
	"net/http"

	"github.com/instruktai/teleclaude/internal/apitype"
	"github.com/instruktai/teleclaude/internal/identity"
)

// Backend is what the API needs from the daemon.
type Backend interface {
	// Status reports the daemon's state; it must be cheap.
	Status(ctx context.Context) (apitype.Status, error)
	// Healthy returns nil when the daemon can serve (database reachable).
	Healthy(ctx context.Context) error
}

// testRoutes lets the package's tests add routes; it is empty in the product.
var testRoutes []route

func (s *Server) routes() []route {
	return append(testRoutes, []route{
		{http.MethodGet, "/health", identity.Public, s.health},
		{http.MethodGet, "/v1/whoami", identity.Public, s.whoami},
		{http.MethodGet, "/v1/status", identity.Public, s.status},
	}...)
}

func (s *Server) health(w http.ResponseWriter, r *http.Request, _ identity.Identity) error {
	if err := s.Backend.Healthy(r.Context()); err != nil {
		return Unavailable("unhealthy: %v", err)
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

func (s *Server) whoami(w http.ResponseWriter, r *http.Request, id identity.Identity) error {
	out := apitype.Whoami{UID: id.UID, GID: id.GID, PID: id.PID, OSUsername: id.OSUsername, Role: id.Role.String(), Reason: id.Reason,
		Preferences: PreferencesFrom(r.Context())}
	if id.HasPerson() {
		p := id.Person
		out.Person = &p
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) status(w http.ResponseWriter, r *http.Request, _ identity.Identity) error {
	st, err := s.Backend.Status(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}
