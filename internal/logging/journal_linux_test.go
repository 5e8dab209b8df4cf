package logging

import (
	"errors"
	"testing"

	"github.com/sirupsen/logrus"
)

// What plain `journalctl -u teleclaude` shows names the session, person
// and project, not only "session started".
func TestJournalMessageCarriesFields(t *testing.T) {
	e := &logrus.Entry{Message: "session started", Data: logrus.Fields{
		"session": "k3v9q2m8xa", "person": "max", "project": "web app", "uid": 1001,
	}}
	if got, want := journalMessage(e), `session started person=max project="web app" session=k3v9q2m8xa uid=1001`; got != want {
		t.Errorf("journal message %q, want %q", got, want)
	}
	e = &logrus.Entry{Message: "request failed", Data: logrus.Fields{"path": "/v1/x", logrus.ErrorKey: errors.New("boom")}}
	if got, want := journalMessage(e), `request failed path=/v1/x: boom`; got != want {
		t.Errorf("journal message %q, want %q", got, want)
	}
}
