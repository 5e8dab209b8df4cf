package layout

import (
	"os"
	"os/user"
	"strconv"
)

// currentUser returns the name and home of the running uid. HOME wins for the
// home directory, as shells and every other tool honour it.
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
