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
	"github.com/sirupsen/logrus"
)

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
	// 507 as WebDAV servers answer a full quota: the request is fine, the
	// caller's share of storage is not.
	errdefs.Quota: {http.StatusInsufficientStorage, "quota_exceeded"},
}

// httpError is the one mapping from an error to what the client sees. The
// parts that decide classify their failures through errdefs where they are
// born; anything unclassified is a 500, logged with its detail and shown to
// the client only as "internal error": the detail may name paths or SQL the
// caller has no business seeing. ok is false when there is nobody to answer.
func httpError(r *http.Request, err error) (status int, body apitype.Error, ok bool) {
	var de *errdefs.Error
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, apitype.Error{Error: fmt.Sprintf("request body is over %d bytes", mbe.Limit), Code: "too_large"}, true
	case errors.As(err, &de) && kindStatus[de.Kind].status != 0:
		k := kindStatus[de.Kind]
		return k.status, apitype.Error{Error: de.Msg, Code: k.code, Fix: de.Fix}, true
	case errors.Is(err, context.Canceled):
		return 0, apitype.Error{}, false // the client went away
	default:
		logrus.WithFields(logrus.Fields{"method": r.Method, "path": r.URL.Path}).WithError(err).Error("request failed")
		return http.StatusInternalServerError, apitype.Error{Error: "internal error; the daemon's log has the details", Code: "internal"}, true
	}
}

// writeError answers with httpError's mapping of err.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	if status, body, ok := httpError(r, err); ok {
		writeJSON(w, status, body)
	}
}

// reject answers a request the HTTP layer itself refuses before any part
// that decides sees it (wrong method, a browser, an oversized body), with a
// code of its own that no errdefs kind carries.
func reject(w http.ResponseWriter, status int, code, format string, args ...any) {
	writeJSON(w, status, apitype.Error{Error: fmt.Sprintf(format, args...), Code: code})
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
