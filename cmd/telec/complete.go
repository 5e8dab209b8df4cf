package main

import (
	"context"
	"os"
	"strings"
	"time"

	"github.com/instruktai/teleclaude/internal/apitype"
	"github.com/instruktai/teleclaude/internal/cli"
	"github.com/instruktai/teleclaude/internal/prefs"
	"github.com/spf13/cobra"
)

// completeBudget bounds a completion's question to the daemon: a shell
// waiting on Tab must not hang when the daemon is down or slow.
const completeBudget = 1500 * time.Millisecond

// ask is call for completions: a short budget, and no error ever shown
// (completion is silent; the command itself will say what is wrong).
func (a *app) ask(path string, out any) bool {
	t, err := cli.ResolveTarget(a.socket)
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), completeBudget)
	defer cancel()
	c := t.Client()
	c.Header.Set(prefs.Header, a.prefs.Encode())
	return c.Get(ctx, path, out) == nil
}

func matching(candidates []string, prefix string) []string {
	var out []string
	for _, c := range candidates {
		if strings.HasPrefix(c, prefix) {
			out = append(out, c)
		}
	}
	return out
}

// completeOwnSession offers, as the first argument, the ids of the
// caller's own sessions (an admin lists everyone's, but acts on their own
// by id far more often, and others' ids are not for the shell history).
func (a *app) completeOwnSession(_ *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var ss []apitype.Session
	if !a.ask("/v1/sessions", &ss) {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	self := int64(os.Getuid())
	var out []string
	for _, s := range ss {
		if s.OwnerUID == nil || *s.OwnerUID != self || !strings.HasPrefix(s.ID, prefix) {
			continue
		}
		desc := s.Project + ", " + s.Agent + ", " + s.Status
		if s.Title != "" {
			desc += ": " + s.Title
		}
		out = append(out, s.ID+"\t"+oneLine(desc))
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

func (a *app) completeProject(_ *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
	var s apitype.Status
	if !a.ask("/v1/status", &s) {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return matching(s.Projects, prefix), cobra.ShellCompDirectiveNoFileComp
}

func (a *app) completeAgent(_ *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
	var s apitype.Status
	if !a.ask("/v1/status", &s) {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return matching(s.Agents, prefix), cobra.ShellCompDirectiveNoFileComp
}

// completeDoc offers the names of the docs the caller may read, as the
// first argument; after it (docs put NAME FILE), files.
func (a *app) completeDoc(_ *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveDefault
	}
	var ds []apitype.Doc
	if !a.ask("/v1/docs", &ds) {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	names := make([]string, 0, len(ds))
	for _, d := range ds {
		names = append(names, d.Name)
	}
	return matching(names, prefix), cobra.ShellCompDirectiveNoFileComp
}

// oneLine keeps a description on its line, free of control characters
// that a shell would show raw.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}
