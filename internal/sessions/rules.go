package sessions

import (
	"strconv"

	"github.com/instruktai/teleclaude/internal/identity"
	"github.com/instruktai/teleclaude/internal/store"
)

// The access rules, in one place (docs/DESIGN.md, "Request path").
// Ownership is by uid and person: the kernel vouches for the uid, and the
// session runs as it; the person it was started for must still be the one
// that uid maps to. A uid can be given again to a new account after the old
// one is deleted, and the new account, mapped to someone else, must see
// nothing of the old one's sessions. Sessions also keep the account's name
// at start: the uid and the person can both come back (an admin who maps a
// new account to an old person entry), the account's name then differs.

// owns reports whether the caller owns the session. Unowned (legacy)
// sessions belong to nobody.
func owns(c identity.Identity, s store.Session) bool {
	return c.HasPerson() && s.OwnerUID != nil && *s.OwnerUID == int64(c.UID) &&
		s.OwnerPerson != nil && *s.OwnerPerson == c.Person &&
		(s.OwnerAccount == nil || *s.OwnerAccount == c.OSUsername)
}

// canSee reports whether the caller may see the session's metadata: its
// owner, or an admin (who sees every session, unowned ones included).
func canSee(c identity.Identity, s store.Session) bool {
	return owns(c, s) || c.Role == identity.Admin
}

// listFilter is the visibility rule for lists: admins see every session,
// everybody else those of their own uid and person.
func listFilter(c identity.Identity) store.SessionFilter {
	f := store.SessionFilter{}
	if c.Role != identity.Admin {
		uid, person, account := int64(c.UID), c.Person, c.OSUsername
		f.OwnerUID, f.OwnerPerson, f.OwnerAccount = &uid, &person, &account
	}
	return f
}

// ListView names the list that List returns to c: callers with the same
// view get the same list, so a cache of lists keys on it. It is derived
// from listFilter, so the two cannot disagree.
func ListView(c identity.Identity) string {
	if f := listFilter(c); f.OwnerUID != nil {
		return "uid:" + strconv.FormatInt(*f.OwnerUID, 10) + " person:" + *f.OwnerPerson + " account:" + *f.OwnerAccount
	}
	return "all"
}

// transcriptAccess says whether the caller may read the transcript and
// whether the read must be audited. Owners read their own freely (an admin
// included); an admin reads anyone else's only when asking explicitly, and
// that read is audited; everybody else is refused.
type transcriptAccess int

const (
	transcriptDenied transcriptAccess = iota
	transcriptOwn
	transcriptAudited
	transcriptNeedsFlag // an admin who did not ask explicitly
)

func canReadTranscript(c identity.Identity, s store.Session, asAdmin bool) transcriptAccess {
	switch {
	case owns(c, s):
		return transcriptOwn
	case c.Role != identity.Admin:
		return transcriptDenied
	case asAdmin:
		return transcriptAudited
	default:
		return transcriptNeedsFlag
	}
}

// canSend: input comes from the owner only, admins included.
func canSend(c identity.Identity, s store.Session) bool { return owns(c, s) }

// canEnd reports whether the caller may end the session, and whether that
// is an admin ending someone else's (audited).
func canEnd(c identity.Identity, s store.Session) (ok, audited bool) {
	if owns(c, s) {
		return true, false
	}
	if c.Role == identity.Admin {
		return true, true
	}
	return false, false
}
