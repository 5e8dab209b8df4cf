package doctor

import (
	"fmt"
	"os"
	"strings"

	"github.com/instruktai/teleclaude/internal/config"
)

// The configuration, loaded as the daemon would.

// loadConfig loads the config as the daemon would. A caller who may not read
// the secrets (anyone but root and the daemon's user, by design) checks the
// config without them; the secrets' own check says the rest.
func loadConfig(s Setup) (*config.Config, Check) {
	p := s.Paths
	partial := ""
	if f, err := os.Open(p.SecretsFile); os.IsPermission(err) {
		p.SecretsFile = ""
		partial = fmt.Sprintf(" (without the secrets, which uid %d may not read)", s.Caller.UID)
	} else if err == nil {
		f.Close()
	}
	cfg, err := config.Load(p, s.Getenv)
	if err != nil {
		return nil, Check{Name: "config", Status: Fail, Detail: err.Error() + partial,
			Fix: "correct the lines named above; `teleclaude config check` lists every problem, then reload: sudo systemctl reload teleclaude"}
	}
	detail := fmt.Sprintf("%s: %d people, %d projects, %d agents%s", describeFile(cfg.File, p.ConfigFile), len(cfg.People), len(cfg.Projects), len(cfg.Agents), partial)
	if len(cfg.Warnings) > 0 {
		return cfg, Check{Name: "config", Status: Warn, Detail: detail + "; " + strings.Join(cfg.Warnings, "; "), Fix: "see the warnings"}
	}
	if partial != "" {
		return cfg, Check{Name: "config", Status: Warn, Detail: detail, Fix: "run doctor as root to check the secrets too: sudo teleclaude doctor"}
	}
	return cfg, Check{Name: "config", Status: Pass, Detail: detail}
}

func describeFile(file, wanted string) string {
	if file == "" {
		return "no file at " + wanted + " (defaults)"
	}
	return file
}
