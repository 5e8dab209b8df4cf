package daemon

// logToFile: launchd has no journal; system mode logs to
// /Library/Logs/TeleClaude where Console.app finds it.
func logToFile() bool { return true }

// dropAmbientCaps: ambient capabilities are a Linux notion.
func dropAmbientCaps() error { return nil }
