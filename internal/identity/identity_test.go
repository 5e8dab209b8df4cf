package identity

import (
	"errors"
	"os"
	"os/user"
	"strings"
	"testing"

	"github.com/instruktai/teleclaude/internal/peercred"
)

func TestRoleOrder(t *testing.T) {
	order := []Role{Public, Newcomer, Contributor, Member, Admin}
	for i, lo := range order {
		for j, hi := range order {
			if got, want := hi.AtLeast(lo), j >= i; got != want {
				t.Errorf("%s.AtLeast(%s) = %v, want %v", hi, lo, got, want)
			}
		}
	}
	if Role(0).AtLeast(Public) || Role(0).Valid() {
		t.Error("the zero Role must not be valid or grant anything")
	}
	for _, r := range order {
		got, err := ParseRole(r.String())
		if err != nil || got != r {
			t.Errorf("ParseRole(%q) = %v, %v; want %v", r.String(), got, err, r)
		}
	}
	if _, err := ParseRole("superuser"); err == nil {
		t.Error("ParseRole(superuser) succeeded, want error")
	}
}

func TestResolve(t *testing.T) {
	accounts := map[int]string{0: "root", 1001: "alice", 1002: "bob", 1003: "carol", 999: "teleclaude"}
	lookup := func(uid int) (string, error) {
		if n, ok := accounts[uid]; ok {
			return n, nil
		}
		return "", errors.New("unknown userid")
	}
	people := map[string]struct {
		name string
		role Role
	}{"alice": {"alice", Admin}, "bob": {"robert", Member}}
	personFn := func(withRoot bool) PersonFunc {
		return func(os string) (string, Role, bool) {
			if os == "root" && withRoot {
				return "rootperson", Admin, true
			}
			p, ok := people[os]
			return p.name, p.role, ok
		}
	}
	tests := []struct {
		name       string
		r          Resolver
		creds      peercred.Creds
		wantPerson string
		wantRole   Role
		wantReason string
	}{
		{"admin", Resolver{Person: personFn(false)}, peercred.Creds{UID: 1001}, "alice", Admin, "uid 1001 (alice) → person alice (os_username) → admin"},
		{"person name differs from account", Resolver{Person: personFn(false)}, peercred.Creds{UID: 1002}, "robert", Member, "uid 1002 (bob) → person robert (os_username) → member"},
		{"unmapped account", Resolver{Person: personFn(false)}, peercred.Creds{UID: 1003}, "", Public, "no person with this os_username"},
		{"uid without account", Resolver{Person: personFn(false)}, peercred.Creds{UID: 4242}, "", Public, "uid 4242 has no OS account"},
		{"root without mapping", Resolver{Person: personFn(false)}, peercred.Creds{UID: 0}, "", Public, "no person maps os_username root"},
		{"root mapped", Resolver{Person: personFn(true)}, peercred.Creds{UID: 0}, "rootperson", Admin, "→ admin"},
		{"service user is nobody special", Resolver{Person: personFn(false), DaemonUID: 999}, peercred.Creds{UID: 999}, "", Public, "public"},
		{"single-user own uid", Resolver{SingleUser: true, DaemonUID: 1003}, peercred.Creds{UID: 1003}, "carol", Admin, "daemon's own user"},
		{"single-user other uid", Resolver{SingleUser: true, DaemonUID: 1003}, peercred.Creds{UID: 1001}, "", Public, "not the daemon's user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.r.LookupUser = lookup
			id := tt.r.Resolve(tt.creds)
			if id.Person != tt.wantPerson || id.Role != tt.wantRole || !strings.Contains(id.Reason, tt.wantReason) {
				t.Errorf("Resolve = person %q role %s reason %q; want person %q role %s reason containing %q",
					id.Person, id.Role, id.Reason, tt.wantPerson, tt.wantRole, tt.wantReason)
			}
		})
	}
}

// TestResolveRealAccount runs the ladder against this machine's account
// database rather than a table.
func TestResolveRealAccount(t *testing.T) {
	me, err := user.Current()
	if err != nil {
		t.Skipf("no account for this uid: %v", err)
	}
	r := Resolver{Person: func(os string) (string, Role, bool) { return "me", Contributor, os == me.Username }}
	id := r.Resolve(peercred.Creds{UID: os.Getuid(), PID: os.Getpid()})
	if id.OSUsername != me.Username || id.Person != "me" || id.Role != Contributor {
		t.Errorf("Resolve(own uid) = %+v, want %s → me → contributor", id, me.Username)
	}
}
