package config

import (
	"github.com/instruktai/teleclaude/internal/layout"
	"github.com/instruktai/teleclaude/internal/prefs"
	"github.com/instruktai/teleclaude/internal/secretscan"
	"github.com/instruktai/teleclaude/internal/strictyaml"
)

// secretsHint says where a secret found in the config file belongs.
const secretsHint = "move it to secrets.yml: agent keys under agent_env, named in the agent's secrets_env"

// checkSections checks what the shape check leaves to others: values shaped
// like credentials anywhere in the file (the system config is world-readable,
// so a key pasted into it is every user's), and the preferences section,
// which only a single-user config may have.
func checkSections(doc *strictyaml.Document, mode layout.Mode) Problems {
	if doc.Root == nil {
		return nil
	}
	var probs Problems
	for i := 0; i+1 < len(doc.Root.Content); i += 2 {
		if doc.Root.Content[i].Value != prefs.Section {
			probs = append(probs, secretscan.Scan(doc.File, doc.Root.Content[i+1], false, secretsHint)...)
		}
	}
	if k, _ := doc.Key(prefs.Section); k != nil {
		if mode == layout.System {
			probs = append(probs, Problem{File: doc.File, Line: k.Line,
				Msg: "preferences belong in each user's ~/.teleclaude/config.yml, not in the system config (its defaults are sessions.default_agent and the like)"})
		} else {
			_, pp := prefs.FromDocument(doc, false)
			probs = append(probs, pp...)
		}
	}
	return probs
}
