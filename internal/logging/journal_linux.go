package logging

import (
	"os"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

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
	return journal.Send(journalMessage(e), priority(e.Level), vars)
}

// journalMessage is the entry's text as plain `journalctl -u teleclaude`
// shows it: the message, then every field as key=value (sorted, quoted
// where needed), then the error. The fields are journal fields too, but an
// admin reading the log should not need -o verbose to see which session,
// person and project a line is about.
func journalMessage(e *logrus.Entry) string {
	keys := make([]string, 0, len(e.Data))
	for k := range e.Data {
		if k != logrus.ErrorKey {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(e.Message)
	for _, k := range keys {
		v := fmtValue(e.Data[k])
		if v == "" || strings.ContainsAny(v, " \t\n\"=") || !utf8.ValidString(v) {
			v = strconv.Quote(v)
		}
		b.WriteString(" " + k + "=" + v)
	}
	if err, ok := e.Data[logrus.ErrorKey]; ok {
		b.WriteString(": " + fmtValue(err))
	}
	return b.String()
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
