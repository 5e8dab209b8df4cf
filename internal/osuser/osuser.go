// Package osuser looks up OS accounts the way the C library does.
//
// Our programs are built without cgo, and Go's own os/user then reads only
// /etc/passwd and /etc/group on Linux. On a shared machine whose people come
// from LDAP, SSSD or systemd-userdb, every one of them would be unknown, so
// public. When the files have no answer, this package asks getent(1), which
// goes through the machine's NSS configuration (nsswitch.conf) as any C
// program would. On macOS, os/user already asks the system (Directory
// Services) without cgo, and nothing more is needed.
package osuser

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// User is an account, whichever database it came from.
type User struct {
	Name     string
	UID, GID int
	Home     string
	Shell    string // from NSS only: see LoginShell
	// Directory is set when the account is not in the files but came from
	// NSS: tools that edit /etc/passwd (usermod) cannot change it.
	Directory bool
}

// ErrUnknown is wrapped by every lookup that found no such account.
var ErrUnknown = errors.New("no such account")

// nssTimeout bounds one getent call: a directory server that does not
// answer must not hold a request (identity then falls to public).
var nssTimeout = 5 * time.Second

// LookupID finds the account of uid.
func LookupID(uid int) (User, error) {
	key := strconv.Itoa(uid)
	u, err := user.LookupId(key)
	if err == nil {
		return checked(u, "uid "+key, "uid:"+key, key, func(x User) bool { return x.UID == uid })
	}
	if !errors.As(err, new(user.UnknownUserIdError)) {
		return User{}, fmt.Errorf("uid %d: %w", uid, err)
	}
	nu, err := fromNSS("uid "+key, "uid:"+key, key, func(x User) bool { return x.UID == uid })
	if err != nil {
		return User{}, err
	}
	// The name is what maps to a person and a role, so it must lead back
	// to this uid: otherwise a directory account named like a local one
	// (or like another directory account) would take that one's role.
	back, err := Lookup(nu.Name)
	if err != nil {
		return User{}, fmt.Errorf("uid %d: the directory names it %s, and %s leads nowhere: %w", uid, nu.Name, nu.Name, err)
	}
	if back.UID != uid {
		return User{}, fmt.Errorf("uid %d: the directory names it %s, but %s is uid %d; not using that name", uid, nu.Name, nu.Name, back.UID)
	}
	return nu, nil
}

// Lookup finds the account called name.
func Lookup(name string) (User, error) {
	if !validName(name) {
		return User{}, fmt.Errorf("%q is not an account name: %w", name, ErrUnknown)
	}
	u, err := user.Lookup(name)
	if err == nil {
		return checked(u, "user "+name, "name:"+name, name, func(x User) bool { return x.Name == name })
	}
	if !errors.As(err, new(user.UnknownUserError)) {
		return User{}, fmt.Errorf("user %s: %w", name, err)
	}
	return fromNSS("user "+name, "name:"+name, name, func(x User) bool { return x.Name == name })
}

// GroupIDs lists u's groups, its primary group first, as login would set
// them (initgroups). Through NSS where it can, so that a group from a
// directory counts; from /etc/group otherwise.
func GroupIDs(u User) ([]int, error) {
	ids := []int{u.GID}
	add := func(n int) {
		for _, have := range ids {
			if have == n {
				return
			}
		}
		ids = append(ids, n)
	}
	err := errNoNSS
	if validName(u.Name) {
		var out []byte
		if out, err = nss("initgroups", u.Name); err == nil {
			gids, err := parseInitgroups(out, u.Name)
			if err != nil {
				return nil, err
			}
			for _, g := range gids {
				add(g)
			}
			return ids, nil
		}
	}
	// An account of the files keeps its groups of the files while the
	// directory does not answer; a directory account has no others.
	if u.Directory && !errors.Is(err, errNoNSS) {
		return nil, fmt.Errorf("groups of %s: %w", u.Name, err)
	}
	strs, err := (&user.User{Uid: strconv.Itoa(u.UID), Gid: strconv.Itoa(u.GID), Username: u.Name}).GroupIds()
	if err != nil {
		return nil, fmt.Errorf("groups of %s: %w", u.Name, err)
	}
	for _, s := range strs {
		if n, err := strconv.Atoi(s); err == nil {
			add(n)
		}
	}
	return ids, nil
}

// LookupGroup finds the gid of the group called name, in the files or,
// through NSS, in the machine's directory.
func LookupGroup(name string) (int, error) {
	if !validName(name) {
		return 0, fmt.Errorf("%q is not a group name: %w", name, ErrUnknown)
	}
	g, err := user.LookupGroup(name)
	if err == nil {
		return strconv.Atoi(g.Gid)
	}
	if !errors.As(err, new(user.UnknownGroupError)) {
		return 0, fmt.Errorf("group %s: %w", name, err)
	}
	out, err := nss("group", name)
	if errors.Is(err, errNoNSS) || errors.Is(err, ErrUnknown) {
		return 0, fmt.Errorf("group %s: %w", name, ErrUnknown)
	}
	if err != nil {
		return 0, fmt.Errorf("group %s: %w", name, err)
	}
	f := strings.Split(firstLine(out), ":")
	if len(f) < 3 || f[0] != name {
		return 0, fmt.Errorf("group %s: getent answered %q", name, firstLine(out))
	}
	gid, err := strconv.Atoi(f[2])
	if err != nil || gid < 0 {
		return 0, fmt.Errorf("group %s: getent answered %q", name, firstLine(out))
	}
	return gid, nil
}

// GroupName names gid, or returns its number when no group has it.
func GroupName(gid int) string {
	key := strconv.Itoa(gid)
	if g, err := user.LookupGroupId(key); err == nil {
		return g.Name
	}
	if out, err := nss("group", key); err == nil {
		if name, _, _ := strings.Cut(firstLine(out), ":"); name != "" {
			return name
		}
	}
	return key
}

// UserName names uid, or returns its number when no account has it.
func UserName(uid int) string {
	if u, err := LookupID(uid); err == nil {
		return u.Name
	}
	return strconv.Itoa(uid)
}

// checked takes os/user's answer, except one it made up: for the running
// uid, Go's pure lookup answers from $USER and $HOME when /etc/passwd does
// not have it. NSS's answer replaces it when NSS has one; otherwise the
// made-up one stands, as before (a container's arbitrary uid has no account
// anywhere, and a single-user daemon must still know its own user).
func checked(u *user.User, what, cacheKey, key string, match func(User) bool) (User, error) {
	ou, err := fromOS(u)
	if err != nil || runtime.GOOS != "linux" || ou.UID != os.Getuid() {
		return ou, err
	}
	if selfInFiles() {
		return ou, err
	}
	if nu, err := fromNSS(what, cacheKey, key, match); err == nil {
		return nu, nil
	}
	return ou, nil
}

// selfInFiles says whether the running uid is in /etc/passwd. Asked once,
// as os/user keeps its answer for the running uid for the process's life:
// in single-user mode every connection is the daemon's own uid, and would
// otherwise read the file again.
var selfInFiles = sync.OnceValue(func() bool {
	_, ok := passwdEntry("/etc/passwd", os.Getuid())
	return ok
})

func fromOS(u *user.User) (User, error) {
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return User{}, fmt.Errorf("user %s: uid %q: %w", u.Username, u.Uid, err)
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return User{}, fmt.Errorf("user %s: primary group %q: %w", u.Username, u.Gid, err)
	}
	return User{Name: u.Username, UID: uid, GID: gid, Home: u.HomeDir}, nil
}

// nssCache keeps what getent said: each connection of a directory user
// would otherwise cost a getent run (about 1.4 ms here; docs/BENCHMARKS.md).
// An account found is kept for a minute, and stands for up to an hour more
// while the directory does not answer, as sssd's offline cache does; "no
// such account" is kept for ten seconds. Keys are "uid:N" or "name:NAME".
var nssCache = struct {
	sync.Mutex
	m map[string]cached
}{m: map[string]cached{}}

type cached struct {
	u   User
	err error // nil or ErrUnknown
	at  time.Time
}

const (
	nssCacheTTL = time.Minute
	nssMissTTL  = 10 * time.Second
	nssStaleTTL = time.Hour
	nssCacheMax = 4096
)

func fromNSS(what, cacheKey, key string, match func(User) bool) (User, error) {
	nssCache.Lock()
	c, ok := nssCache.m[cacheKey]
	nssCache.Unlock()
	age := time.Since(c.at)
	switch {
	case ok && c.err == nil && age < nssCacheTTL && match(c.u):
		return c.u, nil
	case ok && c.err != nil && age < nssMissTTL:
		return User{}, c.err
	}
	u, err := lookupNSS(what, key, match)
	switch {
	case err == nil || errors.Is(err, ErrUnknown):
		nssCache.Lock()
		if len(nssCache.m) >= nssCacheMax {
			clear(nssCache.m)
		}
		nssCache.m[cacheKey] = cached{u, err, time.Now()}
		nssCache.Unlock()
	case ok && c.err == nil && age < nssCacheTTL+nssStaleTTL && match(c.u):
		return c.u, nil // the directory does not answer; what it said stands
	}
	return u, err
}

func lookupNSS(what, key string, match func(User) bool) (User, error) {
	out, err := nss("passwd", key)
	if errors.Is(err, errNoNSS) {
		return User{}, fmt.Errorf("%s: %w", what, ErrUnknown)
	}
	if err != nil {
		return User{}, fmt.Errorf("%s: %w", what, err)
	}
	u, err := parsePasswd(firstLine(out))
	if err != nil {
		return User{}, fmt.Errorf("%s: getent: %w", what, err)
	}
	if !match(u) {
		return User{}, fmt.Errorf("%s: getent answered for another account (%s, uid %d)", what, u.Name, u.UID)
	}
	_, inFiles := passwdEntry("/etc/passwd", u.UID)
	u.Directory = !inFiles
	return u, nil
}

// parsePasswd reads one passwd(5) line: name:password:uid:gid:gecos:home:shell.
func parsePasswd(line string) (User, error) {
	f := strings.Split(line, ":")
	if len(f) != 7 {
		return User{}, fmt.Errorf("not a passwd entry: %q", line)
	}
	uid, err1 := strconv.Atoi(f[2])
	gid, err2 := strconv.Atoi(f[3])
	if err1 != nil || err2 != nil || uid < 0 || gid < 0 || !validName(f[0]) {
		return User{}, fmt.Errorf("not a passwd entry: %q", line)
	}
	return User{Name: f[0], UID: uid, GID: gid, Home: f[5], Shell: f[6]}, nil
}

// parseInitgroups reads getent's "NAME GID GID ..." line.
func parseInitgroups(out []byte, name string) ([]int, error) {
	f := strings.Fields(firstLine(out))
	if len(f) == 0 || f[0] != name {
		return nil, fmt.Errorf("groups of %s: getent answered %q", name, firstLine(out))
	}
	var gids []int
	for _, s := range f[1:] {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("groups of %s: getent answered %q", name, firstLine(out))
		}
		gids = append(gids, n)
	}
	return gids, nil
}

// validName keeps what goes to getent an account name, never an option or
// a second field.
func validName(s string) bool {
	return s != "" && len(s) <= 256 && s[0] != '-' && !strings.ContainsAny(s, ": \t\n\r\x00/")
}

func firstLine(b []byte) string {
	line, _, _ := strings.Cut(string(b), "\n")
	return line
}

// LoginShell is u's login shell, "" when unknown. os/user does not report
// it, so for an account from the files it is read from /etc/passwd, here
// rather than in every lookup: identity needs only the name.
func LoginShell(u User) string {
	if u.Shell != "" {
		return u.Shell
	}
	return passwdShell("/etc/passwd", u.UID)
}

// passwdShell finds uid's login shell in a passwd file; "" when not found.
func passwdShell(path string, uid int) string {
	if f, ok := passwdEntry(path, uid); ok {
		return f[6]
	}
	return ""
}

// passwdEntry finds uid's line in a passwd file, split into its 7 fields.
func passwdEntry(path string, uid int) ([]string, bool) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	want := strconv.Itoa(uid)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) == 7 && fields[2] == want {
			return fields, true
		}
	}
	return nil, false
}

var errNoNSS = errors.New("no NSS lookup on this system")

func nss(db, key string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), nssTimeout)
	defer cancel()
	return getent(ctx, db, key)
}
