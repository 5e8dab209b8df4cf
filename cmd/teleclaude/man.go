package main

import (
	"github.com/instruktai/teleclaude/internal/cli"
	"github.com/spf13/cobra"
)

// manSections are the parts of `man teleclaude` that are not commands: an
// admin's reference for the files, the environment and the configuration.
func manSections(root *cobra.Command) {
	cli.SetManSections(root,
		cli.ManSection{Title: "FILES", Items: []cli.ManItem{
			{"/etc/teleclaude/config.yml", "The system configuration (root:root 0644): people, projects, agents, database, socket, sessions, logging. See CONFIGURATION."},
			{"/etc/teleclaude/secrets.yml", "The database password, agents' API keys and adapter tokens (teleclaude:root 0600): only root and the daemon read it, not the socket's group."},
			{"/run/teleclaude/teleclaude.sock", "The API socket (group teleclaude, 0660). Being in the group lets a user reach the daemon; the role comes from people:."},
			{"/run/teleclaude/users/UID/", "Each user's session host socket, tmux socket and session files (the daemon's, with an ACL for the user)."},
			{"/var/lib/teleclaude/", "The data directory: the SQLite database (teleclaude.db) unless database.engine is postgresql."},
			{"/usr/share/teleclaude/", "Docs shipped with the package."},
			{"/var/lib/teleclaude/shared/", "Docs the people add (telec docs put)."},
			{"teleclaude.service, teleclaude.socket, teleclaude-sessions@.service", "The systemd units: the daemon, its socket, and each user's session host."},
		}},
		cli.ManSection{Title: "ENVIRONMENT", Text: "Each variable is over the config file's key of the same meaning.", Items: []cli.ManItem{
			{"TELECLAUDE_SYSTEM_MODE", "1 or 0 forces system or single-user mode; otherwise: system when running as the service user or when /etc/teleclaude/config.yml exists."},
			{"TELECLAUDE_CONFIG_DIR, TELECLAUDE_CONFIG_PATH, TELECLAUDE_SECRETS_PATH", "Where the config and secrets are."},
			{"TELECLAUDE_DATA_DIR, TELECLAUDE_RUN_DIR, TELECLAUDE_LOG_DIR, TELECLAUDE_SHARED_DIR", "The data, run, log and shared-docs directories."},
			{"TELECLAUDE_SOCKET, TELECLAUDE_SOCKET_GROUP, TELECLAUDE_SOCKET_MODE", "socket.path, socket.group, socket.mode."},
			{"TELECLAUDE_DB_ENGINE, TELECLAUDE_DB_PATH, TELECLAUDE_DB_DSN, TELECLAUDE_DB_HOST, TELECLAUDE_DB_PORT, TELECLAUDE_DB_NAME, TELECLAUDE_DB_USER, TELECLAUDE_DB_SSLMODE", "database.*; a DSN replaces the separate keys."},
			{"TELECLAUDE_DB_PASSWORD, TELECLAUDE_DB_PASSWORD_FILE", "The database password, over secrets.yml."},
			{"TELECLAUDE_MIN_UID", "sessions.min_uid."},
			{"TELECLAUDE_LOG_LEVEL, TELECLAUDE_LOG_FORMAT", "logging.level, logging.format."},
			{"TELECLAUDE_COMPUTER_NAME", "computer.name."},
		}},
		cli.ManSection{Title: "CONFIGURATION", Text: "/etc/teleclaude/config.yml is YAML; an unknown key, a wrong type or a bad value stops the daemon, and `teleclaude config check` lists every problem with its line. Keys:", Items: []cli.ManItem{
			{"computer.name", "This machine's name (default: the host name)."},
			{"people:", "A list of {name, role, os_username, email}; role is admin, member or newcomer. An OS user in the socket's group who is in no entry is public: they may read the status and public docs, nothing more."},
			{"projects:", "A list of {name, path}: the directories sessions start in. Each person who should work in a project must be able to enter its path."},
			{"agents.NAME", "{command: [program, args...], env: {K: V}, secrets_env: [KEY...]}: what a session runs; secrets_env names keys of secrets.yml's agent_env given to it."},
			{"database", "engine: sqlite (path, default /var/lib/teleclaude/teleclaude.db) or postgresql (host, default /var/run/postgresql; port, default 5432; dbname, default teleclaude; user, default teleclaude; sslmode). `teleclaude setup-db` creates the PostgreSQL role and database."},
			{"socket", "path (default /run/teleclaude/teleclaude.sock), group (default teleclaude), mode (default 0660)."},
			{"sessions", "default_agent; min_uid (default 1000: system accounts own no sessions); host: auto, systemd or direct; tmux (the program); max_running (default 32 per person)."},
			{"logging", "level (debug, info, warn, error; default info), format (text or json)."},
		}},
		cli.ManSection{Title: "EXIT STATUS", Items: []cli.ManItem{
			{"0", "Success (doctor: no check failed)."},
			{"1", "The operation failed (doctor: a check failed)."},
			{"2", "Bad usage, or a problem in the configuration."},
			{"3", "The daemon could not be reached."},
		}, Text: "With --json, a command prints one JSON document on standard output, also when it fails."},
		cli.ManSection{Title: "EXAMPLES", Example: true, Items: []cli.ManItem{
			{"sudoedit /etc/teleclaude/config.yml\nsudo teleclaude config check", "Configure, then check every layer at once:"},
			{"sudo usermod -aG teleclaude alice", "Let alice reach the daemon (her role comes from people:); she runs `newgrp teleclaude` or logs in again:"},
			{"sudo systemctl restart teleclaude\nsudo teleclaude doctor", "Start the daemon and check the installation; every WARN and FAIL names its fix:"},
			{"sudo journalctl -u teleclaude -e", "Read the daemon's log:"},
			{"sudo teleclaude setup-db", "Use PostgreSQL: create the role and database, then set database.engine: postgresql:"},
		}},
	)
}
