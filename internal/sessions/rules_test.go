package sessions

import (
	"testing"

	"github.com/instruktai/teleclaude/internal/identity"
	"github.com/instruktai/teleclaude/internal/store"
)

func TestRules(t *testing.T) {
	uid := func(n int64) *int64 { return &n }
	admin := identity.Identity{UID: 1001, Person: "ada", Role: identity.Admin}
	member := identity.Identity{UID: 1002, Person: "max", Role: identity.Member}
	other := identity.Identity{UID: 1003, Person: "mo", Role: identity.Member}
	public := identity.Identity{UID: 1004, Role: identity.Public}
	// A public caller with the uid of an owner (its person was removed
	// from the config) owns nothing.
	exPerson := identity.Identity{UID: 1002, Role: identity.Public}

	mine := store.Session{OwnerUID: uid(1002)}
	admins := store.Session{OwnerUID: uid(1001)}
	legacy := store.Session{}

	tests := []struct {
		name    string
		c       identity.Identity
		s       store.Session
		see     bool
		read    transcriptAccess // without the flag
		readAs  transcriptAccess // with --as-admin
		send    bool
		end     bool
		endAudi bool
	}{
		{"owner", member, mine, true, transcriptOwn, transcriptOwn, true, true, false},
		{"other member", other, mine, false, transcriptDenied, transcriptDenied, false, false, false},
		{"admin, someone else's", admin, mine, true, transcriptNeedsFlag, transcriptAudited, false, true, true},
		{"admin, own", admin, admins, true, transcriptOwn, transcriptOwn, true, true, false},
		{"admin, legacy", admin, legacy, true, transcriptNeedsFlag, transcriptAudited, false, true, true},
		{"member, legacy", member, legacy, false, transcriptDenied, transcriptDenied, false, false, false},
		{"public", public, mine, false, transcriptDenied, transcriptDenied, false, false, false},
		{"uid without person", exPerson, mine, false, transcriptDenied, transcriptDenied, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := canSee(tt.c, tt.s); got != tt.see {
				t.Errorf("canSee = %v, want %v", got, tt.see)
			}
			if got := canReadTranscript(tt.c, tt.s, false); got != tt.read {
				t.Errorf("canReadTranscript = %v, want %v", got, tt.read)
			}
			if got := canReadTranscript(tt.c, tt.s, true); got != tt.readAs {
				t.Errorf("canReadTranscript(as admin) = %v, want %v", got, tt.readAs)
			}
			if got := canSend(tt.c, tt.s); got != tt.send {
				t.Errorf("canSend = %v, want %v", got, tt.send)
			}
			if ok, audited := canEnd(tt.c, tt.s); ok != tt.end || audited != tt.endAudi {
				t.Errorf("canEnd = %v, %v; want %v, %v", ok, audited, tt.end, tt.endAudi)
			}
		})
	}
}

// TestListView: the cache key and List's filter are one rule. Callers share
// a view exactly when List would give them the same filter.
func TestListView(t *testing.T) {
	ids := []identity.Identity{
		{UID: 5, Person: "a", Role: identity.Admin},
		{UID: 6, Person: "b", Role: identity.Admin},
		{UID: 5, Person: "c", Role: identity.Member},
		{UID: 6, Person: "d", Role: identity.Member},
		{UID: 6, Role: identity.Public},
		{UID: 7, Person: "e", Role: identity.Newcomer},
	}
	key := func(f store.SessionFilter) string {
		if f.OwnerUID == nil {
			return "*"
		}
		return string(rune('0' + *f.OwnerUID))
	}
	for _, a := range ids {
		for _, b := range ids {
			sameView := ListView(a) == ListView(b)
			sameList := key(listFilter(a)) == key(listFilter(b))
			if sameView != sameList {
				t.Errorf("%+v and %+v: same view %v, same list %v", a, b, sameView, sameList)
			}
		}
	}
	if ListView(ids[0]) != ListView(ids[1]) || ListView(ids[2]) == ListView(ids[3]) {
		t.Error("admins must share one view, and others each their own")
	}
}
