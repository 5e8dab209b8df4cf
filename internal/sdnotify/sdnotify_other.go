//go:build !linux

package sdnotify

import "time"

func notify(string)                   {}
func reloadingState() string          { return "" }
func watchdogInterval() time.Duration { return 0 }
