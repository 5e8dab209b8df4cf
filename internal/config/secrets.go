package config

import (
	"fmt"
	"os"
	"runtime"

	"github.com/instruktai/teleclaude/internal/layout"
	"github.com/instruktai/teleclaude/internal/strictyaml"
)

// loadSecrets reads the secrets file if there is one. A symlink is refused:
// the file's owner and mode are the whole of its protection, and a link makes
// them somebody else's. A file readable by others is only a warning: refusing
// to start would turn an admin's chmod slip into an outage.
func loadSecrets(p layout.Paths, s *Secrets) (Problems, []string) {
	file := p.SecretsFile
	if file == "" {
		return nil, nil // no secrets file (doctor, without the right to read it)
	}
	st, err := os.Lstat(file)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return Problems{{File: file, Msg: err.Error()}}, nil
	}
	if st.Mode()&os.ModeSymlink != 0 {
		return Problems{{File: file, Msg: "secrets file is a symlink; replace it with a regular file (root:" +
			layout.ServiceUser(runtime.GOOS) + " 0640)"}}, nil
	}
	var warns []string
	perm := st.Mode().Perm()
	switch {
	case p.Mode == layout.System && perm&0o007 != 0:
		warns = append(warns, fmt.Sprintf("%s is readable by every user (mode %04o); fix: chmod 0640 %s && chown root:%s %s",
			file, perm, file, layout.ServiceUser(runtime.GOOS), file))
	case p.Mode == layout.SingleUser && perm&0o077 != 0:
		warns = append(warns, fmt.Sprintf("%s is readable by others (mode %04o); fix: chmod 0600 %s", file, perm, file))
	}
	// No following links at open either: the file checked above is the
	// file read.
	data, err := strictyaml.ReadFile(file, true)
	if os.IsPermission(err) {
		return Problems{{File: file, Msg: fmt.Sprintf("cannot read it as uid %d (%v); the daemon's user must: chown root:%s %s && chmod 0640 %s",
			os.Getuid(), err, layout.ServiceUser(runtime.GOOS), file, file)}}, warns
	}
	if err != nil {
		return Problems{{File: file, Msg: err.Error()}}, warns
	}
	_, probs := decodeStrict(file, data, s, false)
	return probs, warns
}
