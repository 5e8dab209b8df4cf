// Package logging sets up logrus for the daemon: structured journald entries
// when systemd captures our output, plain text on stderr otherwise, and a log
// file where the platform expects one (macOS system mode).
package logging

import (
	"fmt"
	"io"
	"os"

	"github.com/sirupsen/logrus"
)

// Options choose level and format.
type Options struct {
	Level  string // logrus level name
	Format string // text | json
	// File, when set and not under journald, receives the log instead of
	// stderr (macOS system mode: /Library/Logs/TeleClaude/teleclaude.log).
	File string
}

// Setup configures the standard logrus logger and returns where it went, for
// the start-up log line.
func Setup(o Options) (string, error) {
	lvl, err := logrus.ParseLevel(o.Level)
	if err != nil {
		return "", fmt.Errorf("log level: %w", err)
	}
	logrus.SetLevel(lvl)
	if o.Format == "json" {
		logrus.SetFormatter(&logrus.JSONFormatter{})
	} else {
		logrus.SetFormatter(&logrus.TextFormatter{FullTimestamp: true, DisableColors: true})
	}
	if useJournal() {
		logrus.SetOutput(io.Discard)
		logrus.AddHook(journalHook{})
		return "journald", nil
	}
	if o.File != "" {
		f, err := os.OpenFile(o.File, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
		if err != nil {
			return "", fmt.Errorf("open log file: %w", err)
		}
		logrus.SetOutput(f)
		return o.File, nil
	}
	logrus.SetOutput(os.Stderr)
	return "stderr", nil
}
