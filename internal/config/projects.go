package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/instruktai/teleclaude/internal/fileown"
	"github.com/instruktai/teleclaude/internal/osuser"
)

// ProjectWarnings checks every project's directory against the people who
// may start sessions there (all of them): one warning for a directory that
// does not exist, and one for each person whose OS account cannot enter
// it, each with the next step. A session in such a project fails at start
// with the same cause. Permission bits are read, not ACLs: a directory
// opened to someone by an ACL alone is reported closed to them.
func ProjectWarnings(c *Config) []string {
	var out []string
	type person struct {
		name, account string
		uid           int
		groups        []int
	}
	var people []person
	for _, p := range c.People {
		if p.OSUsername == "" {
			continue
		}
		u, err := osuser.Lookup(p.OSUsername)
		if err != nil {
			continue // validation reports unknown accounts
		}
		groups, err := osuser.GroupIDs(u)
		if err != nil {
			groups = []int{u.GID}
		}
		people = append(people, person{p.Name, u.Name, u.UID, groups})
	}
	for _, proj := range c.Projects {
		real, err := filepath.EvalSymlinks(proj.Path)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				out = append(out, fmt.Sprintf("project %s: %s does not exist; create it (sudo mkdir -p %s) and give its people access, or remove the project", proj.Name, proj.Path, proj.Path))
			} else {
				out = append(out, fmt.Sprintf("project %s: %s: %v", proj.Name, proj.Path, err))
			}
			continue
		}
		if st, err := os.Stat(real); err == nil && !st.IsDir() {
			out = append(out, fmt.Sprintf("project %s: %s is not a directory", proj.Name, proj.Path))
			continue
		}
		for _, p := range people {
			if blocked := closedTo(real, p.uid, p.groups); blocked != "" {
				out = append(out, fmt.Sprintf("project %s: %s (%s) cannot enter %s: %s has no search (x) permission for them; open it to a group they are in (chgrp GROUP %s; chmod g+rx %s), or take %s off people:",
					proj.Name, p.name, p.account, proj.Path, blocked, blocked, blocked, p.name))
			}
		}
	}
	return out
}

// closedTo returns the first directory on the way to dir (dir included)
// that uid, with groups, may not enter; "" when none.
func closedTo(dir string, uid int, groups []int) string {
	if uid == 0 {
		return ""
	}
	p := "/"
	parts := strings.Split(strings.Trim(dir, "/"), "/")
	for i := -1; i < len(parts); i++ {
		if i >= 0 {
			p = filepath.Join(p, parts[i])
		}
		st, err := os.Stat(p)
		if err != nil {
			return p
		}
		own, ok := fileown.Of(st)
		if !ok {
			return ""
		}
		perm := st.Mode().Perm()
		var x bool
		switch {
		case own.UID == uid:
			x = perm&0o100 != 0
		case slices.Contains(groups, own.GID):
			x = perm&0o010 != 0
		default:
			x = perm&0o001 != 0
		}
		if !x {
			return p
		}
	}
	return ""
}
