package logging

import (
	"os"
	"strings"

	"github.com/coreos/go-systemd/v22/journal"
	"github.com/sirupsen/logrus"
)

// useJournal reports whether our stderr is systemd's journal stream (it sets
// JOURNAL_STREAM to the device:inode of that stream) and the journal socket
// is there to send structured entries to.
func useJournal() bool {
	return os.Getenv("JOURNAL_STREAM") != "" && journal.Enabled()
}

// journalHook sends each entry with its fields as journal fields
// (TELECLAUDE_<FIELD>), so `journalctl TELECLAUDE_UID=1001` works.
type journalHook struct{}

func (journalHook) Levels() []logrus.Level { return logrus.AllLevels }

func (journalHook) Fire(e *logrus.Entry) error {
	vars := make(map[string]string, len(e.Data)+1)
	for k, v := range e.Data {
		vars["TELECLAUDE_"+fieldName(k)] = fmtValue(v)
	}
	vars["SYSLOG_IDENTIFIER"] = "teleclaude"
	msg := e.Message
	if err, ok := e.Data[logrus.ErrorKey]; ok {
		msg += ": " + fmtValue(err)
	}
	return journal.Send(msg, priority(e.Level), vars)
}

func priority(l logrus.Level) journal.Priority {
	switch l {
	case logrus.PanicLevel:
		return journal.PriEmerg
	case logrus.FatalLevel:
		return journal.PriCrit
	case logrus.ErrorLevel:
		return journal.PriErr
	case logrus.WarnLevel:
		return journal.PriWarning
	case logrus.InfoLevel:
		return journal.PriInfo
	default:
		return journal.PriDebug
	}
}

// fieldName makes a journal field name: upper case letters, digits and
// underscores only.
func fieldName(k string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		default:
			return '_'
		}
	}, k)
}
