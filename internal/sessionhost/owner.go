package sessionhost

import (
	"bufio"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"
)

// LookupOwner reads uid's account: name, home, groups and shell.
func LookupOwner(uid int) (Owner, error) {
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil {
		return Owner{}, fmt.Errorf("uid %d: %w", uid, err)
	}
	o := Owner{UID: uid, Username: u.Username, Home: u.HomeDir}
	if o.GID, err = strconv.Atoi(u.Gid); err != nil {
		return Owner{}, fmt.Errorf("uid %d: primary group %q: %w", uid, u.Gid, err)
	}
	gids, err := u.GroupIds()
	if err != nil {
		return Owner{}, fmt.Errorf("groups of %s: %w", u.Username, err)
	}
	for _, g := range gids {
		if n, err := strconv.Atoi(g); err == nil {
			o.Groups = append(o.Groups, n)
		}
	}
	o.Shell = passwdShell("/etc/passwd", uid)
	return o, nil
}

// passwdShell finds uid's login shell in a passwd file; os/user does not
// report it. "" when not found (accounts from a directory service).
func passwdShell(path string, uid int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	want := strconv.Itoa(uid)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) == 7 && fields[2] == want {
			return fields[6]
		}
	}
	return ""
}

func ownerOf(st os.FileInfo) (int, bool) {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return int(s.Uid), true
	}
	return 0, false
}
