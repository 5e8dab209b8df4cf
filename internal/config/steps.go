package config

import (
	"github.com/instruktai/teleclaude/internal/layout"
	"github.com/instruktai/teleclaude/internal/strictyaml"
)

// The steps of Load, for the converters (internal/confimport) that read an
// old install's config the way Load reads ours and must refuse what Load
// would refuse.

// Dotenv is a .env file as an install ran with it.
type Dotenv = dotenv

// ReadDotenv reads a .env file (NAME=VALUE lines, quotes, export).
func ReadDotenv(file string) (*Dotenv, Problems) { return readDotenv(file) }

// Getenv looks a name up; a nil Dotenv is an empty environment.
func (d *dotenv) Getenv(name string) string { return d.getenv(name) }

// Where names the file and line that set name.
func (d *dotenv) Where(name string) string { return d.where(name) }

// Line is the line that set name (0: not set).
func (d *dotenv) Line(name string) int {
	if d == nil {
		return 0
	}
	return d.lines[name]
}

// Vars are the file's variables (the map itself: do not change it).
func (d *dotenv) Vars() map[string]string {
	if d == nil {
		return nil
	}
	return d.vars
}

// DecodeStrict decodes YAML into v, refusing unknown keys, with file:line.
func DecodeStrict(file string, data []byte, v any, requireContent bool) (*strictyaml.Document, Problems) {
	return decodeStrict(file, data, v, requireContent)
}

// CheckSections refuses secrets in sections every user can read.
func CheckSections(doc *strictyaml.Document, mode layout.Mode) Problems {
	return checkSections(doc, mode)
}

// ApplyEnv applies the TELECLAUDE_* settings of getenv.
func (c *Config) ApplyEnv(getenv Getenv) error { return c.applyEnv(getenv) }

// ApplyDefaults fills what the config leaves out, for layout p.
func (c *Config) ApplyDefaults(p layout.Paths, getenv Getenv) { c.applyDefaults(p, getenv) }

// Validate checks the whole config; doc gives lines for messages.
func (c *Config) Validate(file string, doc *strictyaml.Document) Problems {
	return c.validate(file, doc)
}

// EnvSetting is a TELECLAUDE_* variable that sets a config key.
type EnvSetting struct {
	Name, Path string // the variable; the key's dotted path
	Number     bool
}

// EnvSettings lists the variables that override config keys.
func EnvSettings() []EnvSetting {
	var out []EnvSetting
	for _, s := range (&Config{}).envSettings() {
		out = append(out, EnvSetting{Name: s.name, Path: s.path, Number: s.number})
	}
	return out
}

// EnvDBPassword is the variable that gives the database password.
const EnvDBPassword = envDBPassword
