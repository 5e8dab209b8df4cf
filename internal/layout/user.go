package layout

import (
	"os"
	"os/user"
	"strconv"
)

// currentUser returns the name and home of the running uid. HOME wins for the
// home directory, as shells and every other tool honour it. Plain os/user,
// not osuser: this runs on every telec command, the name only has to tell
// the service user (always in /etc/passwd) from everyone else, and os/user
// answers for the running uid from $USER when the files do not know it,
// where osuser would ask the directory each time.
func currentUser() (name, home string) {
	home = os.Getenv("HOME")
	u, err := user.LookupId(strconv.Itoa(os.Getuid()))
	if err != nil {
		return "", home
	}
	if home == "" {
		home = u.HomeDir
	}
	return u.Username, home
}
