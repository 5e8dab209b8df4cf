package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/instruktai/teleclaude/internal/apitype"
	"github.com/instruktai/teleclaude/internal/identity"
	"github.com/instruktai/teleclaude/internal/socket"
)

// backend answers status from fixed values; the daemon's real one is
// exercised end to end in e2e.
type backend struct{ healthErr error }

func (b backend) Status(context.Context) (apitype.Status, error) {
	return apitype.Status{Version: "test", Mode: "single-user", Database: apitype.DatabaseStatus{Engine: "sqlite", SchemaVersion: 1}}, nil
}
func (b backend) Healthy(context.Context) error { return b.healthErr }

// serve starts the API on a real Unix socket and returns an HTTP client for it.
func serve(t *testing.T, role identity.Role, b Backend) *http.Client {
	t.Helper()
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	r := &identity.Resolver{Person: func(os string) (string, identity.Role, bool) {
		return "tester", role, os == me.Username && role != identity.Public
	}}
	srv := &Server{Resolver: func() *identity.Resolver { return r }, Backend: b}
	path := filepath.Join(t.TempDir(), "api.sock")
	ln, err := socket.Listen(socket.Options{Path: path, Mode: 0o600})
	if err != nil {
		t.Fatal(err)
	}
	hs := srv.HTTPServer()
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", path)
	}}, Timeout: 10 * time.Second}
}

func do(t *testing.T, c *http.Client, method, path string, body io.Reader, hdr map[string]string) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, "http://teleclaude"+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

func TestWhoami(t *testing.T) {
	c := serve(t, identity.Member, backend{})
	code, body, _ := do(t, c, "GET", "/v1/whoami", nil, nil)
	var w apitype.Whoami
	if err := json.Unmarshal(body, &w); err != nil || code != 200 {
		t.Fatalf("GET /v1/whoami = %d %s (%v)", code, body, err)
	}
	if w.UID != os.Getuid() || w.PID != os.Getpid() || w.Person == nil || *w.Person != "tester" || w.Role != "member" {
		t.Errorf("whoami = %+v, want uid %d pid %d person tester role member", w, os.Getuid(), os.Getpid())
	}
}

func TestPublicPersonIsNull(t *testing.T) {
	c := serve(t, identity.Public, backend{})
	_, body, _ := do(t, c, "GET", "/v1/whoami", nil, nil)
	if !bytes.Contains(body, []byte(`"person":null`)) || !bytes.Contains(body, []byte(`"role":"public"`)) {
		t.Errorf("whoami as public = %s, want person null and role public", body)
	}
}

// TestClientCannotClaimIdentity sends everything a confused or hostile
// client might use to claim another identity; the answer must not change.
func TestClientCannotClaimIdentity(t *testing.T) {
	c := serve(t, identity.Newcomer, backend{})
	_, plain, _ := do(t, c, "GET", "/v1/whoami", nil, nil)
	spoofs := map[string]string{
		"X-Teleclaude-User": "alice", "X-Teleclaude-Uid": "0", "X-Remote-User": "root", "X-Forwarded-User": "admin",
		"Authorization": "Bearer admin", "Cookie": "role=admin", "X-Real-Ip": "127.0.0.1",
	}
	_, spoofed, _ := do(t, c, "GET", "/v1/whoami?uid=0&person=alice&role=admin", strings.NewReader(`{"uid":0,"role":"admin"}`), spoofs)
	if !bytes.Equal(plain, spoofed) {
		t.Errorf("identity changed with client claims:\n plain:   %s\n spoofed: %s", plain, spoofed)
	}
}

func TestStatusAndHealth(t *testing.T) {
	c := serve(t, identity.Public, backend{})
	code, body, _ := do(t, c, "GET", "/v1/status", nil, nil)
	if code != 200 || !bytes.Contains(body, []byte(`"engine":"sqlite"`)) {
		t.Errorf("status = %d %s", code, body)
	}
	if code, body, _ := do(t, c, "GET", "/health", nil, nil); code != 200 || !bytes.Contains(body, []byte(`"ok"`)) {
		t.Errorf("health = %d %s", code, body)
	}
	sick := serve(t, identity.Public, backend{healthErr: errors.New("database unreachable")})
	if code, body, _ := do(t, sick, "GET", "/health", nil, nil); code != 503 || !bytes.Contains(body, []byte(`"code":"unavailable"`)) {
		t.Errorf("unhealthy health = %d %s, want 503 unavailable", code, body)
	}
}

func TestBadRequests(t *testing.T) {
	c := serve(t, identity.Admin, backend{})
	big := strings.NewReader(`{"a":"` + strings.Repeat("x", MaxBody) + `"}`)
	tests := []struct {
		name     string
		method   string
		path     string
		body     io.Reader
		hdr      map[string]string
		wantCode int
		wantErr  string
	}{
		{"unknown route", "GET", "/v1/nope", nil, nil, 404, "not_found"},
		{"unknown top level", "GET", "/", nil, nil, 404, "not_found"},
		{"wrong method", "DELETE", "/v1/whoami", nil, nil, 405, "method_not_allowed"},
		{"post to status", "POST", "/v1/status", strings.NewReader("{}"), nil, 405, "method_not_allowed"},
		{"browser origin", "GET", "/v1/whoami", nil, map[string]string{"Origin": "https://evil.example"}, 403, "browser_request"},
		{"browser referer", "GET", "/v1/whoami", nil, map[string]string{"Referer": "https://evil.example/"}, 403, "browser_request"},
		{"fetch metadata", "GET", "/v1/whoami", nil, map[string]string{"Sec-Fetch-Site": "cross-site"}, 403, "browser_request"},
		{"foreign host", "GET", "/v1/whoami", nil, map[string]string{"Host": "evil.example"}, 403, "bad_host"},
		{"oversized body", "POST", "/v1/test-echo", big, nil, 413, "too_large"},
		{"oversized body, no length", "POST", "/v1/test-echo", io.MultiReader(strings.NewReader(`{"a":"`), strings.NewReader(strings.Repeat("y", MaxBody)), strings.NewReader(`"}`)), nil, 413, "too_large"},
		{"malformed json", "POST", "/v1/test-echo", strings.NewReader(`{"a":`), nil, 400, "bad_request"},
		{"trailing content", "POST", "/v1/test-echo", strings.NewReader(`{"a":"b"} {"c":1}`), nil, 400, "bad_request"},
		{"unknown field", "POST", "/v1/test-echo", strings.NewReader(`{"a":"b","zz":1}`), nil, 400, "bad_request"},
		{"empty body", "POST", "/v1/test-echo", strings.NewReader(``), nil, 400, "bad_request"},
		{"wrong type", "POST", "/v1/test-echo", strings.NewReader(`{"a":5}`), nil, 400, "bad_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body, hdr := do(t, c, tt.method, tt.path, tt.body, tt.hdr)
			var e apitype.Error
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("body %q is not a JSON error: %v", body, err)
			}
			if code != tt.wantCode || e.Code != tt.wantErr || e.Error == "" {
				t.Errorf("%s %s = %d %s, want %d with code %q", tt.method, tt.path, code, body, tt.wantCode, tt.wantErr)
			}
			if ct := hdr.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			if code == 405 && hdr.Get("Allow") == "" {
				t.Error("405 without an Allow header")
			}
		})
	}
	// The server is still up and answers after all of that.
	if code, _, _ := do(t, c, "GET", "/v1/whoami", nil, nil); code != 200 {
		t.Errorf("whoami after bad requests = %d", code)
	}
}

func TestRoleGate(t *testing.T) {
	c := serve(t, identity.Contributor, backend{})
	code, body, _ := do(t, c, "POST", "/v1/test-echo", strings.NewReader(`{"a":"b"}`), nil)
	if code != 403 || !bytes.Contains(body, []byte("needs role admin")) {
		t.Errorf("contributor on an admin route = %d %s, want 403 naming the role", code, body)
	}
	admin := serve(t, identity.Admin, backend{})
	if code, body, _ := do(t, admin, "POST", "/v1/test-echo", strings.NewReader(`{"a":"b"}`), nil); code != 200 || string(body) != "{\"a\":\"b\"}\n" {
		t.Errorf("admin echo = %d %s", code, body)
	}
}

func TestRouteWithoutRolePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("registering a route with no minimum role did not panic")
		}
	}()
	s := &Server{}
	s.mux = http.NewServeMux()
	s.register([]route{{method: "GET", path: "/x", h: func(http.ResponseWriter, *http.Request, identity.Identity) error { return nil }}})
}

func init() {
	// A route only the tests register, to exercise body handling and the
	// role gate without depending on the product's routes.
	testRoutes = append(testRoutes, route{http.MethodPost, "/v1/test-echo", identity.Admin,
		func(w http.ResponseWriter, r *http.Request, _ identity.Identity) error {
			var v struct {
				A string `json:"a"`
			}
			if err := readJSON(r, &v); err != nil {
				return err
			}
			writeJSON(w, 200, v)
			return nil
		}})
}
