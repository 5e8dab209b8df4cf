package main

import (
	"fmt"
	"net/url"
	"text/tabwriter"
	"time"

	"github.com/instruktai/teleclaude/internal/apitype"
	"github.com/instruktai/teleclaude/internal/cli"
	"github.com/spf13/cobra"
)

func (a *app) auditCmd() *cobra.Command {
	var mine bool
	var actor, session, since string
	cmd := &cobra.Command{
		Use:   "audit [--mine] [--actor P] [--session ID] [--since T]",
		Short: "List audit records (admins), or those about your own sessions (--mine)",
		Long: `List the audit log: every time an admin read the transcript of, or
ended, a session that was not theirs.

Admins see all records. Anyone sees the records about their own sessions
with --mine. --since takes a time (2026-01-02T15:04:05Z) or a duration
back from now (24h, 90m).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{}
			if actor != "" {
				q.Set("actor", actor)
			}
			if session != "" {
				q.Set("session", session)
			}
			if since != "" {
				t, err := parseSince(since, time.Now())
				if err != nil {
					return err
				}
				q.Set("since", t.UTC().Format(time.RFC3339Nano))
			}
			path := "/v1/audit"
			if mine {
				path += "/mine"
			}
			if len(q) > 0 {
				path += "?" + q.Encode()
			}
			var recs []apitype.AuditRecord
			if human, err := a.fetch(path, &recs); !human || err != nil {
				return err
			}
			if len(recs) == 0 {
				fmt.Fprintln(a.out, "no audit records")
				return nil
			}
			tw := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TIME\tACTOR\tACTION\tSESSION\tOWNER")
			for _, r := range recs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.At.Local().Format("2006-01-02 15:04:05"),
					who(r.ActorPerson, &r.ActorUID), r.Action, deref(r.TargetSessionID), who(r.TargetOwnerPerson, r.TargetOwnerUID))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&mine, "mine", false, "records about your own sessions")
	cmd.Flags().StringVar(&actor, "actor", "", "only records by this person")
	cmd.Flags().StringVar(&session, "session", "", "only records about this session")
	cmd.Flags().StringVar(&since, "since", "", "only records from this time on (RFC 3339, or a duration such as 24h)")
	return cmd
}

func parseSince(v string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, cli.Usagef("--since %q: want a time such as 2026-01-02T15:04:05Z or a duration such as 24h", v)
	}
	return t, nil
}

func who(person *string, uid *int64) string {
	switch {
	case person != nil && uid != nil:
		return fmt.Sprintf("%s (uid %d)", *person, *uid)
	case uid != nil:
		return fmt.Sprintf("uid %d", *uid)
	}
	return "-"
}

func deref(s *string) string {
	if s == nil {
		return "-"
	}
	return *s
}
