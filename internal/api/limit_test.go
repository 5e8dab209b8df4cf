package api

import (
	"bufio"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/instruktai/teleclaude/internal/identity"
	"github.com/instruktai/teleclaude/internal/socket"
)

// TestLimitAnswersRefusals holds a uid's share of connections and shows
// the next one answered 429 with a reason, then admitted once one closes.
// Beyond Total (the reserve included) the answer is 503.
func TestLimitAnswersRefusals(t *testing.T) {
	for _, tc := range []struct {
		name   string
		lim    Limits
		hold   int
		status int
		want   string
	}{
		{"per uid", Limits{PerUID: 3, Total: 100, Reserve: 10}, 3, http.StatusTooManyRequests, "the most one user may"},
		{"total", Limits{PerUID: 100, Total: 4, Reserve: 2}, 4, http.StatusServiceUnavailable, "its limit for now"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &identity.Resolver{Person: func(string) (string, identity.Role, bool) { return "", 0, false }}
			srv := &Server{Resolver: func() *identity.Resolver { return r }, Backend: backend{}, Limits: tc.lim}
			path := filepath.Join(t.TempDir(), "api.sock")
			ln, err := socket.Listen(socket.Options{Path: path, Mode: 0o600})
			if err != nil {
				t.Fatal(err)
			}
			hs := srv.HTTPServer()
			go hs.Serve(srv.Limit(ln))
			t.Cleanup(func() { hs.Close() })

			status := func(c net.Conn) (string, error) {
				c.SetDeadline(time.Now().Add(5 * time.Second))
				if _, err := c.Write([]byte("GET /health HTTP/1.1\r\nHost: teleclaude\r\n\r\n")); err != nil {
					return "", err
				}
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					return "", err
				}
				defer resp.Body.Close()
				var b strings.Builder
				bufio.NewReader(resp.Body).WriteTo(&b)
				return resp.Status + " " + b.String(), nil
			}
			var held []net.Conn
			for i := 0; i < tc.hold; i++ {
				c, err := net.Dial("unix", path)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
				if got, err := status(c); err != nil || !strings.HasPrefix(got, "200") {
					t.Fatalf("connection %d: %q, %v", i, got, err)
				}
				held = append(held, c)
			}
			c, err := net.Dial("unix", path)
			if err != nil {
				t.Fatal(err)
			}
			got, err := status(c)
			c.Close()
			if err != nil || !strings.HasPrefix(got, strconv.Itoa(tc.status)) || !strings.Contains(got, tc.want) {
				t.Fatalf("over the limit: %q, %v; want %d saying %q", got, err, tc.status, tc.want)
			}
			held[0].Close()
			deadline := time.Now().Add(5 * time.Second)
			for {
				c, err := net.Dial("unix", path)
				if err != nil {
					t.Fatal(err)
				}
				got, err := status(c)
				c.Close()
				if err == nil && strings.HasPrefix(got, "200") {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("a place freed by a close is not given back: %q, %v", got, err)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}
