package main

import (
	"github.com/instruktai/teleclaude/internal/cli"
	"github.com/spf13/cobra"
)

// manSections are the parts of `man telec` that are not commands.
func manSections(root *cobra.Command) {
	cli.SetManSections(root,
		cli.ManSection{Title: "ENVIRONMENT", Items: []cli.ManItem{
			{"TELECLAUDE_SOCKET", "The daemon's socket, as --socket. Without either, telec uses the socket of the mode it detects."},
			{"TELECLAUDE_SYSTEM_MODE", "1 or 0 forces system or single-user mode; otherwise the mode is system when /etc/teleclaude/config.yml exists."},
			{"XDG_RUNTIME_DIR", "In single-user mode the socket is $XDG_RUNTIME_DIR/teleclaude/teleclaude.sock (without it, /tmp/teleclaude-UID/teleclaude.sock)."},
			{"TELECLAUDE_OUTPUT_FORMAT", "text or json; json stands for --json (errors included). Over output_format in the preferences."},
			{"TELECLAUDE_DEFAULT_AGENT, TELECLAUDE_DEFAULT_PROJECT, TELECLAUDE_THINKING_MODE, TELECLAUDE_COLOR", "Over the preferences of the same names (see CONFIGURATION)."},
			{"NO_COLOR", "Any value turns colour off."},
		}},
		cli.ManSection{Title: "FILES", Items: []cli.ManItem{
			{"/run/teleclaude/teleclaude.sock", "The system daemon's socket. Members of the teleclaude group may connect; who you are is read from the kernel, and your role from the people: list of /etc/teleclaude/config.yml."},
			{"~/.teleclaude/config.yml", "Your preferences (see CONFIGURATION). In single-user mode, the preferences: section of the daemon's own config file."},
			{"/etc/teleclaude/config.yml", "The machine's configuration: people, projects, agents. Ask an admin to change it."},
		}},
		cli.ManSection{Title: "CONFIGURATION", Text: "Your preferences, in ~/.teleclaude/config.yml; every key is optional and an unknown key is an error (exit 2):", Items: []cli.ManItem{
			{"default_agent: NAME", "The agent for sessions start without --agent."},
			{"default_project: NAME", "The project for sessions start without --project."},
			{"thinking_mode: off|low|medium|high", "How hard agents that support it should think."},
			{"output_format: text|json", "json makes every command print one JSON document, as --json."},
			{"color: auto|always|never", "Colour in telec's output."},
		}},
		cli.ManSection{Title: "EXIT STATUS", Items: []cli.ManItem{
			{"0", "Success."},
			{"1", "The operation failed or was refused; the message says why and, where there is one, the fix."},
			{"2", "Bad usage (an unknown command or flag, a missing argument) or a problem in your preferences."},
			{"3", "The daemon could not be reached, or did not answer within a few seconds."},
		}, Text: "With --json, a failure also prints one JSON document on standard output: {\"error\": ..., \"fix\": ..., \"code\": ...}."},
		cli.ManSection{Title: "EXAMPLES", Example: true, Items: []cli.ManItem{
			{"telec whoami", "Who the daemon thinks you are, and why:"},
			{"telec status", "The projects and agents of this machine:"},
			{"telec sessions start --project web --title 'fix login'\ntelec sessions send ID 'make test'\ntelec sessions transcript ID\ntelec sessions attach ID\ntelec sessions end ID", "Start a session, type into it, read it, attach your terminal (detach with C-b d), end it:"},
			{"telec audit --mine", "Whether an admin has read your sessions:"},
			{"telec sessions list --json | jq -r '.[] | select(.status==\"running\") | .id'", "Scripts read JSON:"},
		}},
	)
}
