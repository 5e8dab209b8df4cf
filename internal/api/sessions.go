package api

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/instruktai/teleclaude/internal/apitype"
	"github.com/instruktai/teleclaude/internal/errdefs"
	"github.com/instruktai/teleclaude/internal/identity"
	"github.com/instruktai/teleclaude/internal/sessions"
)

func (s *Server) listSessions(w http.ResponseWriter, r *http.Request, id identity.Identity) error {
	if _, err := query(r, nil); err != nil {
		return err
	}
	gen, key := s.Sessions.Generation(), sessions.ListView(id)
	if body, ok := s.lists.get(gen, key); ok {
		writeBody(w, http.StatusOK, body)
		return nil
	}
	ss, err := s.Sessions.List(r.Context(), id)
	if err != nil {
		return err
	}
	out := make([]apitype.Session, len(ss))
	for i, x := range ss {
		out[i] = sessionOut(x)
	}
	body, err := encode(out)
	if err != nil {
		return err
	}
	s.lists.put(gen, key, body)
	writeBody(w, http.StatusOK, body)
	return nil
}

func (s *Server) startSession(w http.ResponseWriter, r *http.Request, id identity.Identity) error {
	var req apitype.StartRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	// What the request leaves out, the caller's preferences fill in.
	p := PreferencesFrom(r.Context())
	var from []string
	if req.Project == "" && p.DefaultProject != "" {
		req.Project, from = p.DefaultProject, append(from, "default_project")
	}
	if req.Agent == "" && p.DefaultAgent != "" {
		req.Agent, from = p.DefaultAgent, append(from, "default_agent")
	}
	sess, err := s.Sessions.Start(r.Context(), id, sessions.StartRequest{Project: req.Project, Agent: req.Agent, Title: req.Title})
	if err != nil {
		if k, _ := errdefs.KindOf(err); k == errdefs.Invalid && len(from) > 0 {
			return errdefs.Invalidf("%v (from your preferences: %s)", err, strings.Join(from, ", "))
		}
		return err
	}
	w.Header().Set("Location", "/v1/sessions/"+url.PathEscape(sess.ID))
	writeJSON(w, http.StatusCreated, apitype.StartResponse{ID: sess.ID, Notice: sessions.Notice, Session: sessionOut(sess)})
	return nil
}

func (s *Server) getSession(w http.ResponseWriter, r *http.Request, id identity.Identity) error {
	if _, err := query(r, nil); err != nil {
		return err
	}
	sess, err := s.Sessions.Get(r.Context(), id, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sessionOut(sess))
	return nil
}

func (s *Server) sendInput(w http.ResponseWriter, r *http.Request, id identity.Identity) error {
	var req apitype.InputRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	enter := req.Enter == nil || *req.Enter
	if err := s.Sessions.Send(r.Context(), id, r.PathValue("id"), req.Text, enter); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) transcript(w http.ResponseWriter, r *http.Request, id identity.Identity) error {
	q, err := query(r, []string{"as_admin", "after", "limit"})
	if err != nil {
		return err
	}
	asAdmin, err := boolParam(q, "as_admin")
	if err != nil {
		return err
	}
	after, err := intParam(q, "after")
	if err != nil {
		return err
	}
	limit, err := intParam(q, "limit")
	if err != nil {
		return err
	}
	entries, more, err := s.Sessions.Transcript(r.Context(), id, r.PathValue("id"), asAdmin, after, int(limit))
	if err != nil {
		return err
	}
	if more {
		w.Header().Set(apitype.HeaderMore, "true")
	}
	out := make([]apitype.TranscriptEntry, len(entries))
	for i, e := range entries {
		out[i] = apitype.TranscriptEntry{Seq: e.Seq, Direction: e.Direction, Content: e.Content, At: e.At}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) endSession(w http.ResponseWriter, r *http.Request, id identity.Identity) error {
	if _, err := query(r, nil); err != nil {
		return err
	}
	sess, err := s.Sessions.End(r.Context(), id, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sessionOut(sess))
	return nil
}

func (s *Server) attach(w http.ResponseWriter, r *http.Request, id identity.Identity) error {
	if _, err := query(r, nil); err != nil {
		return err
	}
	sock, target, err := s.Sessions.Attach(r.Context(), id, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apitype.Attach{Socket: sock, Target: target})
	return nil
}

func auditFilter(r *http.Request, allowed []string) (sessions.AuditFilter, error) {
	q, err := query(r, allowed)
	if err != nil {
		return sessions.AuditFilter{}, err
	}
	f := sessions.AuditFilter{Actor: q.Get("actor"), Session: q.Get("session")}
	if v := q.Get("since"); v != "" {
		if f.Since, err = time.Parse(time.RFC3339Nano, v); err != nil {
			return f, errdefs.Invalidf("since=%q: want an RFC 3339 time such as 2026-01-02T15:04:05Z", v)
		}
	}
	limit, err := intParam(q, "limit")
	f.Limit = int(limit)
	return f, err
}

func (s *Server) audit(w http.ResponseWriter, r *http.Request, _ identity.Identity) error {
	f, err := auditFilter(r, []string{"actor", "session", "since", "limit"})
	if err != nil {
		return err
	}
	recs, err := s.Sessions.Audit(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, auditOut(recs))
	return nil
}

func (s *Server) auditMine(w http.ResponseWriter, r *http.Request, id identity.Identity) error {
	f, err := auditFilter(r, []string{"actor", "session", "since", "limit"})
	if err != nil {
		return err
	}
	recs, err := s.Sessions.AuditMine(r.Context(), id, f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, auditOut(recs))
	return nil
}

func (s *Server) listDocs(w http.ResponseWriter, r *http.Request, id identity.Identity) error {
	if _, err := query(r, nil); err != nil {
		return err
	}
	ds, err := s.Docs.List(id.Role)
	if err != nil {
		return err
	}
	out := make([]apitype.Doc, len(ds))
	for i, d := range ds {
		out[i] = docOut(d)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getDoc(w http.ResponseWriter, r *http.Request, id identity.Identity) error {
	if _, err := query(r, nil); err != nil {
		return err
	}
	d, err := s.Docs.Get(id.Role, r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, docOut(d))
	return nil
}

func (s *Server) putDoc(w http.ResponseWriter, r *http.Request, id identity.Identity) error {
	var req apitype.DocPut
	if err := readJSON(r, &req); err != nil {
		return err
	}
	d, created, err := s.Docs.Put(r.Context(), id.Role, id.Person, r.PathValue("name"), []byte(req.Content))
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, docOut(d))
	return nil
}

// query returns the request's query parameters, refusing any not in
// allowed and any given twice: a misspelt parameter (as-admin for
// as_admin) must not be silently ignored.
func query(r *http.Request, allowed []string) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, errdefs.Invalidf("bad query string: %v", err)
	}
	for k, v := range q {
		ok := false
		for _, a := range allowed {
			ok = ok || k == a
		}
		if !ok {
			if len(allowed) == 0 {
				return nil, errdefs.Invalidf("unknown parameter %q: %s takes none", k, r.URL.Path)
			}
			return nil, errdefs.Invalidf("unknown parameter %q (known: %v)", k, allowed)
		}
		if len(v) > 1 {
			return nil, errdefs.Invalidf("parameter %q given %d times", k, len(v))
		}
	}
	return q, nil
}

func boolParam(q url.Values, name string) (bool, error) {
	v := q.Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, errdefs.Invalidf("%s=%q: want true or false", name, v)
	}
	return b, nil
}

func intParam(q url.Values, name string) (int64, error) {
	v := q.Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, errdefs.Invalidf("%s=%q: want a whole number, 0 or more", name, v)
	}
	return n, nil
}
