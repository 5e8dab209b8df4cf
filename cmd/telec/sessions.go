package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"sort"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/instruktai/teleclaude/internal/apitype"
	"github.com/instruktai/teleclaude/internal/cli"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func sessionPath(id string, rest ...string) string {
	return "/v1/sessions/" + url.PathEscape(id) + strings.Join(rest, "")
}

func (a *app) sessionsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sessions",
		Short: "Start, list, read and end terminal and agent sessions",
		Long: `Sessions run in tmux as you, in one of this machine's projects.

Sessions on this system are subject to admin audit: an admin can read
your session's transcript, and every such read is recorded where you can
see it (telec audit --mine).`,
	}
	cmd.AddCommand(a.startCmd(), a.listCmd(), a.showCmd(), a.sendCmd(), a.transcriptCmd(), a.attachCmd(), a.endCmd())
	return cmd
}

func (a *app) startCmd() *cobra.Command {
	var req apitype.StartRequest
	cmd := &cobra.Command{
		Use:   "start --project NAME [--agent NAME] [--title T]",
		Short: "Start a session in a project",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Without --project the daemon answers with the projects there are.
			var out apitype.StartResponse
			if err := a.call(http.MethodPost, "/v1/sessions", req, &out); err != nil {
				return err
			}
			if a.json {
				return cli.PrintJSON(a.out, out)
			}
			fmt.Fprintf(a.out, "%s\nstarted session %s (%s in %s)\n  attach: telec sessions attach %s\n", out.Notice, out.ID, out.Session.Agent, out.Session.Project, out.ID)
			return nil
		},
	}
	cmd.Flags().StringVar(&req.Project, "project", "", "project to work in (telec status lists them)")
	cmd.Flags().StringVar(&req.Agent, "agent", "", "agent to run (default: the machine's default agent)")
	cmd.Flags().StringVar(&req.Title, "title", "", "a title for the session")
	cmd.RegisterFlagCompletionFunc("project", a.completeProject)
	cmd.RegisterFlagCompletionFunc("agent", a.completeAgent)
	cmd.ValidArgsFunction = cobra.NoFileCompletions
	return cmd
}

func (a *app) listCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the sessions you may see, by project",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var ss []apitype.Session
			if human, err := a.fetch("/v1/sessions", &ss); !human || err != nil {
				return err
			}
			printSessions(a.out, ss, os.Getuid(), time.Now())
			return nil
		},
	}
}

// printSessions groups by project (never by person) and marks sessions
// that belong to someone else with their owner, [name]. Columns are
// measured first and rows written straight out: a list can be a thousand
// sessions long.
func printSessions(w io.Writer, ss []apitype.Session, self int, now time.Time) {
	if len(ss) == 0 {
		fmt.Fprintln(w, "no sessions")
		return
	}
	byProject := map[string][]int{}
	var projects []string
	rows := make([][4]string, len(ss))
	var width [4]int
	for i, s := range ss {
		if byProject[s.Project] == nil {
			projects = append(projects, s.Project)
		}
		byProject[s.Project] = append(byProject[s.Project], i)
		rows[i] = [4]string{s.ID, s.Agent, status(s), when(s.CreatedAt, now)}
		for c, v := range rows[i] {
			width[c] = max(width[c], utf8.RuneCountInString(v))
		}
	}
	sort.Strings(projects)
	bw := bufio.NewWriterSize(w, 64<<10)
	defer bw.Flush()
	for i, p := range projects {
		if i > 0 {
			bw.WriteByte('\n')
		}
		bw.WriteString(p)
		bw.WriteByte('\n')
		for _, r := range byProject[p] {
			line := " "
			for c, v := range rows[r] {
				line += " " + v + strings.Repeat(" ", width[c]-utf8.RuneCountInString(v)+1)
			}
			bw.WriteString(strings.TrimRight(line+" "+titleAndBadge(ss[r], self), " "))
			bw.WriteByte('\n')
		}
	}
}

func status(s apitype.Session) string {
	if s.Status == "exited" && s.ExitCode != nil {
		return fmt.Sprintf("exited(%d)", *s.ExitCode)
	}
	return s.Status
}

func titleAndBadge(s apitype.Session, self int) string {
	var badge string
	switch {
	case s.OwnerUID == nil:
		badge = "[unowned]"
	case int(*s.OwnerUID) != self && s.OwnerPerson != nil:
		badge = "[" + *s.OwnerPerson + "]"
	}
	return strings.TrimSpace(badge + " " + s.Title)
}

func when(t, now time.Time) string {
	t = t.Local()
	if y, m, d := t.Date(); y == now.Year() && m == now.Month() && d == now.Day() {
		return t.Format("15:04")
	}
	return t.Format("Jan 02 15:04")
}

func (a *app) showCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "show ID",
		ValidArgsFunction: a.completeOwnSession,
		Short:             "Show one session",
		Args:              cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var s apitype.Session
			if err := a.call(http.MethodGet, sessionPath(args[0]), nil, &s); err != nil {
				return err
			}
			if a.json {
				return cli.PrintJSON(a.out, s)
			}
			owner := "(unowned)"
			if s.OwnerPerson != nil {
				owner = fmt.Sprintf("%s (uid %d)", *s.OwnerPerson, *s.OwnerUID)
			}
			fmt.Fprintf(a.out, "session: %s\nowner:   %s\nproject: %s (%s)\nagent:   %s\ntitle:   %s\nstatus:  %s\nstarted: %s\n",
				s.ID, owner, s.Project, s.ProjectPath, s.Agent, s.Title, status(s), s.CreatedAt.Local().Format(time.RFC1123))
			if s.EndedAt != nil {
				fmt.Fprintf(a.out, "ended:   %s\n", s.EndedAt.Local().Format(time.RFC1123))
			}
			return nil
		},
	}
}

func (a *app) sendCmd() *cobra.Command {
	var noEnter bool
	cmd := &cobra.Command{
		Use:               "send ID TEXT",
		ValidArgsFunction: a.completeOwnSession,
		Short:             "Type TEXT into your session, then Enter (TEXT - reads standard input)",
		Args:              cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			text := args[1]
			if text == "-" {
				b, err := io.ReadAll(io.LimitReader(os.Stdin, 1<<20+1))
				if err != nil {
					return fmt.Errorf("read standard input: %w", err)
				}
				text = string(b)
			}
			enter := !noEnter
			if err := a.call(http.MethodPost, sessionPath(args[0], "/input"), apitype.InputRequest{Text: text, Enter: &enter}, nil); err != nil {
				return err
			}
			if a.json {
				return cli.PrintJSON(a.out, map[string]any{"id": args[0], "sent": len(text)})
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&noEnter, "no-enter", false, "do not press Enter after the text")
	return cmd
}

func (a *app) transcriptCmd() *cobra.Command {
	var asAdmin bool
	var after int64
	cmd := &cobra.Command{
		Use:               "transcript ID [--as-admin]",
		ValidArgsFunction: a.completeOwnSession,
		Short:             "Print a session's transcript",
		Long: `Print what was typed into a session and what it printed.

An admin reading a session that is not theirs must say so with --as-admin;
the read is recorded in the audit log, where the session's owner sees it
(one record per page read: 1,000 entries or 4 MiB).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var all []json.RawMessage
			p := transcriptPrinter{w: a.out, atLineStart: true}
			// The daemon answers a page at a time; read on until a short one.
			for {
				q := url.Values{}
				if asAdmin {
					q.Set("as_admin", "true")
				}
				if after > 0 {
					q.Set("after", fmt.Sprint(after))
				}
				var page []json.RawMessage
				hdr, err := a.callHeader(http.MethodGet, sessionPath(args[0], "/transcript")+"?"+q.Encode(), nil, &page)
				if err != nil {
					return err
				}
				for _, raw := range page {
					var e apitype.TranscriptEntry
					if err := json.Unmarshal(raw, &e); err != nil {
						return fmt.Errorf("decode the transcript: %w", err)
					}
					after = e.Seq
					if !a.json {
						p.print(e)
					}
				}
				all = append(all, page...)
				if hdr.Get(apitype.HeaderMore) != "true" || len(page) == 0 {
					break
				}
			}
			if a.json {
				return cli.PrintJSON(a.out, all)
			}
			p.finish()
			return nil
		},
	}
	cmd.Flags().BoolVar(&asAdmin, "as-admin", false, "read another person's session as an admin (audited)")
	cmd.Flags().Int64Var(&after, "after", 0, "only entries after this sequence number")
	return cmd
}

func (a *app) attachCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "attach ID",
		ValidArgsFunction: a.completeOwnSession,
		Short:             "Attach your terminal to your own session (tmux; detach with C-b d)",
		Args:              cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var at apitype.Attach
			if err := a.call(http.MethodGet, sessionPath(args[0], "/attach"), nil, &at); err != nil {
				return err
			}
			if a.json {
				return cli.PrintJSON(a.out, at)
			}
			// Your own tmux, against your own server, under the daemon's
			// own checked directory: never a server someone else named.
			t, err := cli.ResolveTarget(a.socket)
			if err != nil {
				return err
			}
			if err := t.Client().CheckAttach(at.Socket); err != nil {
				return fmt.Errorf("attach refused: %w", err)
			}
			if !term.IsTerminal(int(os.Stdin.Fd())) {
				return errors.New("attach needs a terminal; use telec sessions transcript or send instead")
			}
			bin, err := exec.LookPath("tmux")
			if err != nil {
				return fmt.Errorf("attach runs tmux, which is not in your PATH: %w", err)
			}
			return syscall.Exec(bin, []string{"tmux", "-S", at.Socket, "attach-session", "-t", at.Target}, os.Environ())
		},
	}
}

func (a *app) endCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "end ID",
		ValidArgsFunction: a.completeOwnSession,
		Short:             "End a session (yours; admins may end any, audited)",
		Args:              cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var s apitype.Session
			if err := a.call(http.MethodPost, sessionPath(args[0], "/end"), nil, &s); err != nil {
				return err
			}
			if a.json {
				return cli.PrintJSON(a.out, s)
			}
			fmt.Fprintf(a.out, "session %s %s\n", s.ID, s.Status)
			return nil
		},
	}
}

// transcriptPrinter shows output as it was and each input on a line of
// its own, marked », even where the program's prompt left the line open.
type transcriptPrinter struct {
	w           io.Writer
	atLineStart bool
}

// finish ends the last line, so that the shell's prompt does not follow a
// program's last words on the same line.
func (p *transcriptPrinter) finish() {
	if !p.atLineStart {
		fmt.Fprintln(p.w)
		p.atLineStart = true
	}
}

func (p *transcriptPrinter) print(e apitype.TranscriptEntry) {
	text := e.Content
	if e.Direction == "in" {
		if !p.atLineStart {
			fmt.Fprintln(p.w)
		}
		text = "» " + text
		if !strings.HasSuffix(text, "\n") {
			text += "\n"
		}
	}
	if text == "" {
		return
	}
	fmt.Fprint(p.w, text)
	p.atLineStart = strings.HasSuffix(text, "\n")
}
