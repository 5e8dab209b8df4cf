package main

import (
	"fmt"
	"regexp"
	"strconv"
)

// version is a build's place in history, as `git describe --long` tells it:
// the last release tag, how many commits came after it, and whether the
// tree had uncommitted changes.
type version struct {
	Base    string // 1.2.3
	Pre     string // rc.1 for a v1.2.3-rc.1 tag; "" for a release
	Commits int    // commits since the tag
	Hash    string // abbreviated commit, without the "g"
	Dirty   bool
}

// describeRe matches v1.2.3[-pre]-N-gHASH[-dirty]. A pre-release may not
// itself contain '-': git describe separates its fields with dashes.
var describeRe = regexp.MustCompile(`^v?([0-9]+\.[0-9]+\.[0-9]+)(?:-([0-9A-Za-z.]+))?(?:-([0-9]+)-g([0-9a-f]+))?(-dirty)?$`)

// parseDescribe reads the output of `git describe --tags --long --dirty`
// (or a bare tag such as v1.2.3).
func parseDescribe(s string) (version, error) {
	m := describeRe.FindStringSubmatch(s)
	if m == nil {
		return version{}, fmt.Errorf("version %q: want a tag like v1.2.3 or v1.2.3-rc.1, as git describe prints it (v1.2.3-4-gabc1234[-dirty])", s)
	}
	v := version{Base: m[1], Pre: m[2], Hash: m[4], Dirty: m[5] != ""}
	if m[3] != "" {
		v.Commits, _ = strconv.Atoi(m[3])
	}
	return v, nil
}

// Deb spells the version for dpkg: a pre-release sorts before its release
// with "~", and commits after a tag sort after it with "+":
// 1.2.3~rc.1 < 1.2.3 < 1.2.3+4.gabc1234 < 1.2.4.
func (v version) Deb() string { return v.spell("+") }

// RPM spells the version for rpm, where "^" is what "+" is to dpkg (a
// snapshot after a release, rpm >= 4.15; Fedora's convention), and "+"
// would only separate fields: 1.2.3~rc.1 < 1.2.3 < 1.2.3^4.gabc1234 < 1.2.4.
func (v version) RPM() string { return v.spell("^") }

func (v version) spell(after string) string {
	s := v.Base
	if v.Pre != "" {
		s += "~" + v.Pre
	}
	if v.Commits > 0 || v.Dirty {
		s += after + strconv.Itoa(v.Commits) + ".g" + v.Hash
		if v.Dirty {
			s += ".dirty"
		}
	}
	return s
}

// String is the version the programs report (teleclaude version).
func (v version) String() string {
	s := "v" + v.Base
	if v.Pre != "" {
		s += "-" + v.Pre
	}
	if v.Commits > 0 || v.Dirty {
		s += "-" + strconv.Itoa(v.Commits) + "-g" + v.Hash
	}
	if v.Dirty {
		s += "-dirty"
	}
	return s
}
