package config

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong with a config file, located as precisely as the
// file allows.
type Problem struct {
	File string
	Line int // 0 when the problem is not tied to a line
	Msg  string
}

func (p Problem) String() string {
	switch {
	case p.File == "":
		return p.Msg
	case p.Line > 0:
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
	default:
		return p.File + ": " + p.Msg
	}
}

// Problems is every problem found in one load; it is the error Load returns
// so that an admin can fix them all in one pass.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}
