package layout

import (
	"os"

	"github.com/instruktai/teleclaude/internal/osuser"
)

// currentUser returns the name and home of the running uid. HOME wins for the
// home directory, as shells and every other tool honour it.
func currentUser() (name, home string) {
	home = os.Getenv("HOME")
	u, err := osuser.LookupID(os.Getuid())
	if err != nil {
		return "", home
	}
	if home == "" {
		home = u.Home
	}
	return u.Name, home
}
