package api

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/instruktai/teleclaude/internal/errdefs"
)

// TestErrorKinds: each kind of failure reaches the client with its status,
// its code and its words; a full quota is a 507 that keeps the fix.
func TestErrorKinds(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/v1/x", nil)
	for _, c := range []struct {
		err    error
		status int
		code   string
	}{
		{errdefs.Invalidf("bad"), 400, "bad_request"},
		{errdefs.Forbiddenf("no"), 403, "forbidden"},
		{errdefs.NotFoundf("none"), 404, "not_found"},
		{errdefs.Conflictf("state"), 409, "conflict"},
		{errdefs.WithFix(errdefs.Quotaf("your transcripts are full"), "ask an admin"), 507, "quota_exceeded"},
		{errdefs.Unavailablef("later"), 503, "unavailable"},
	} {
		status, body, ok := httpError(r, c.err)
		if !ok || status != c.status || body.Code != c.code || body.Error != c.err.Error() {
			t.Errorf("httpError(%v) = %d %+v %v; want %d %s", c.err, status, body, ok, c.status, c.code)
		}
	}
	if _, body, _ := httpError(r, errdefs.WithFix(errdefs.Quotaf("full"), "ask an admin")); body.Fix != "ask an admin" {
		t.Errorf("quota refusal lost its fix: %+v", body)
	}
}
