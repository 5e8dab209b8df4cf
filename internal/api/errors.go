package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/instruktai/teleclaude/internal/apitype"
	"github.com/instruktai/teleclaude/internal/errdefs"
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
func Unavailable(format string, args ...any) *Error {
	return errorf(http.StatusServiceUnavailable, "unavailable", format, args...)
}

// kindStatus is how the daemon's kinds of failure reach clients.
var kindStatus = map[errdefs.Kind]struct {
	status int
	code   string
}{
	errdefs.Invalid:     {http.StatusBadRequest, "bad_request"},
	errdefs.Forbidden:   {http.StatusForbidden, "forbidden"},
	errdefs.NotFound:    {http.StatusNotFound, "not_found"},
	errdefs.Conflict:    {http.StatusConflict, "conflict"},
	errdefs.Unavailable: {http.StatusServiceUnavailable, "unavailable"},
}

// writeError maps err to a status and body. Unknown errors are logged with
// their detail and shown to the client only as "internal error": the detail
// may name paths or SQL the caller has no business seeing.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *Error
	var de *errdefs.Error
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &mbe):
		ae = errorf(http.StatusRequestEntityTooLarge, "too_large", "request body is over %d bytes", mbe.Limit)
	case errors.As(err, &de):
		ae = &Error{Status: kindStatus[de.Kind].status, Code: kindStatus[de.Kind].code, Msg: de.Msg}
		if ae.Status == 0 {
			ae.Status, ae.Code = http.StatusInternalServerError, "internal"
		}
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
	body, err := encode(v)
	if err != nil {
		// Only a type that cannot be JSON: a bug, never the client's.
		logrus.WithError(err).Error("encoding an answer")
		body, status = []byte(`{"error":"internal error","code":"internal"}`+"\n"), http.StatusInternalServerError
	}
	writeBody(w, status, body)
}

// encode is the one JSON encoding of every answer: a value and a newline.
// No HTML escaping: the answers never meet a browser (those requests are
// refused), and a transcript full of '<' would grow sixfold.
func encode(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	return b.Bytes(), err
}

func writeBody(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}
