package api

import (
	"net/http"

	"github.com/instruktai/teleclaude/internal/apitype"
	"github.com/instruktai/teleclaude/internal/errdefs"
	"github.com/instruktai/teleclaude/internal/identity"
)

// testRoutes lets the package's tests add routes; it is empty in the product.
var testRoutes []route

func (s *Server) routes() []route {
	return append(testRoutes, []route{
		{http.MethodGet, "/health", identity.Public, s.health},
		{http.MethodGet, "/v1/whoami", identity.Public, s.whoami},
		{http.MethodGet, "/v1/status", identity.Public, s.status},

		{http.MethodGet, "/v1/sessions", identity.Newcomer, s.listSessions},
		{http.MethodPost, "/v1/sessions", identity.Newcomer, s.startSession},
		{http.MethodGet, "/v1/sessions/{id}", identity.Newcomer, s.getSession},
		{http.MethodPost, "/v1/sessions/{id}/input", identity.Newcomer, s.sendInput},
		{http.MethodGet, "/v1/sessions/{id}/transcript", identity.Newcomer, s.transcript},
		{http.MethodPost, "/v1/sessions/{id}/end", identity.Newcomer, s.endSession},
		{http.MethodGet, "/v1/sessions/{id}/attach", identity.Newcomer, s.attach},

		{http.MethodGet, "/v1/audit", identity.Admin, s.audit},
		{http.MethodGet, "/v1/audit/mine", identity.Newcomer, s.auditMine},

		{http.MethodGet, "/v1/docs", identity.Public, s.listDocs},
		{http.MethodGet, "/v1/docs/{name}", identity.Public, s.getDoc},
		{http.MethodPut, "/v1/docs/{name}", identity.Member, s.putDoc},
	}...)
}

func (s *Server) health(w http.ResponseWriter, r *http.Request, _ identity.Identity) error {
	if err := s.Backend.Healthy(r.Context()); err != nil {
		return errdefs.Unavailablef("unhealthy: %v", err)
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
