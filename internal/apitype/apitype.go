// Package apitype holds the JSON shapes of the API, shared by the daemon and
// telec so that the client links none of the server.
package apitype

import (
	"time"

	"github.com/instruktai/teleclaude/internal/prefs"
)

// Whoami is the body of GET /v1/whoami. Person is null for public callers.
type Whoami struct {
	UID        int     `json:"uid"`
	GID        int     `json:"gid"`
	PID        int     `json:"pid"`
	OSUsername string  `json:"os_username"`
	Person     *string `json:"person"`
	Role       string  `json:"role"`
	// Reason is the identity ladder's explanation of the decision.
	Reason string `json:"reason"`
	// Preferences are the caller's, as the daemon received and checked them.
	Preferences prefs.Preferences `json:"preferences"`
}

// Status is the body of GET /v1/status.
type Status struct {
	Version   string         `json:"version"`
	Mode      string         `json:"mode"`
	Computer  string         `json:"computer"`
	Socket    string         `json:"socket"`
	PID       int            `json:"pid"`
	StartedAt time.Time      `json:"started_at"`
	Uptime    float64        `json:"uptime_seconds"`
	Database  DatabaseStatus `json:"database"`
}

// DatabaseStatus is part of Status.
type DatabaseStatus struct {
	Engine        string `json:"engine"`
	SchemaVersion int64  `json:"schema_version"`
}

// Error is the body of every error response.
type Error struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}
