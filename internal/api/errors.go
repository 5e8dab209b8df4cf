package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/instruktai/teleclaude/internal/apitype"
	"github.com/instruktai/teleclaude/internal/store"
	"github.com/sirupsen/logrus"
)

// Error is an API error with the status and machine-readable code the client
// sees. Handlers return one (or any error, which becomes a 500).
type Error struct {
	Status int
	Code   string
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

func errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Msg: fmt.Sprintf(format, args...)}
}

// Constructors for the kinds of failure SPEC §10 names.
func BadRequest(format string, args ...any) *Error {
	return errorf(http.StatusBadRequest, "bad_request", format, args...)
}
func Forbidden(format string, args ...any) *Error {
	return errorf(http.StatusForbidden, "forbidden", format, args...)
}
func NotFound(format string, args ...any) *Error {
	return errorf(http.StatusNotFound, "not_found", format, args...)
}
func Conflict(format string, args ...any) *Error {
	return errorf(http.StatusConflict, "conflict", format, args...)
}
func Unavailable(format string, args ...any) *Error {
	return errorf(http.StatusServiceUnavailable, "unavailable", format, args...)
}

// writeError maps err to a status and body. Unknown errors are logged with
// their detail and shown to the client only as "internal error": the detail
// may name paths or SQL the caller has no business seeing.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *Error
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &mbe):
		ae = errorf(http.StatusRequestEntityTooLarge, "too_large", "request body is over %d bytes", mbe.Limit)
	case errors.Is(err, store.ErrNotFound):
		ae = NotFound("not found")
	case errors.Is(err, context.Canceled):
		return // the client went away; nobody to answer
	default:
		logrus.WithFields(logrus.Fields{"method": r.Method, "path": r.URL.Path}).WithError(err).Error("request failed")
		ae = errorf(http.StatusInternalServerError, "internal", "internal error; the daemon's log has the details")
	}
	writeJSON(w, ae.Status, apitype.Error{Error: ae.Msg, Code: ae.Code})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	_ = enc.Encode(v)
}
