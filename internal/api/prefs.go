package api

import (
	"context"
	"net/http"

	"github.com/instruktai/teleclaude/internal/prefs"
)

type prefsKey struct{}

// withPreferences checks the caller's preferences (the header telec sends
// with every request) against the same allow-list as the file it came from:
// the daemon trusts nothing a client sends. Invalid preferences are a 400
// before any handler runs; valid ones are in the request context
// (PreferencesFrom).
func withPreferences(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		vals := r.Header.Values(prefs.Header)
		if len(vals) > 1 {
			reject(w, http.StatusBadRequest, "bad_preferences", "%s: sent %d times; send it once", prefs.Header, len(vals))
			return
		}
		p, err := prefs.FromHeader(r.Header.Get(prefs.Header))
		if err != nil {
			reject(w, http.StatusBadRequest, "bad_preferences", "%s: %v (check the preferences: section of ~/.teleclaude/config.yml and the TELECLAUDE_* variables)", prefs.Header, err)
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), prefsKey{}, p)))
	}
}

// PreferencesFrom returns the caller's checked preferences; none when the
// request carried none.
func PreferencesFrom(ctx context.Context) prefs.Preferences {
	p, _ := ctx.Value(prefsKey{}).(prefs.Preferences)
	return p
}
