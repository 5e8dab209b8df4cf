package daemon

// logToFile: on Linux the journal takes stderr, and logrotate-managed files
// under /var/log/teleclaude are for later adapters.
func logToFile() bool { return false }
