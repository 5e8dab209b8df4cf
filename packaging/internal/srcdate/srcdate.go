// Package srcdate says when a build's sources were made, the one time every
// file, package and signature of a reproducible build carries.
package srcdate

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Epoch is SOURCE_DATE_EPOCH (https://reproducible-builds.org/specs/source-date-epoch/)
// when it is set, else the time of the commit checked out in the current
// directory.
func Epoch() (time.Time, error) {
	e := os.Getenv("SOURCE_DATE_EPOCH")
	if e == "" {
		b, err := exec.Command("git", "log", "-1", "--format=%ct").Output()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				err = fmt.Errorf("%v: %s", err, strings.TrimSpace(string(ee.Stderr)))
			}
			return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH is not set and git log failed: %v", err)
		}
		e = strings.TrimSpace(string(b))
	}
	n, err := strconv.ParseInt(e, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: want seconds since 1970", e)
	}
	return time.Unix(n, 0).UTC(), nil
}

// Env is the environment entry that hands t on to the tools a build runs.
func Env(t time.Time) string {
	return "SOURCE_DATE_EPOCH=" + strconv.FormatInt(t.Unix(), 10)
}
