package confimport

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"

	"github.com/instruktai/teleclaude/internal/config"
)

// Written is one file Write made.
type Written struct {
	Path string `json:"path"`
	Mode string `json:"mode"`
	What string `json:"what"`
}

// ErrExists is returned (wrapped) when an output file is there already.

// Check says whether Write could write into out: none of its files may
// exist. Run it before anything is committed.
func (p *Plan) Check(out string) error {
	for _, f := range []string{"config.yml", "secrets.yml", "not-carried.yml"} {
		if _, err := os.Lstat(filepath.Join(out, f)); err == nil {
			return fmt.Errorf("%w %s; choose an empty --split-out directory", ErrExists, filepath.Join(out, f))
		}
	}
	return nil
}

// Write puts the system config (computer, projects, agents, people),
// secrets.yml (0600: the .env's keys and tokens) and not-carried.yml
// (0600, since upstream sections may hold tokens: everything with no
// counterpart here, verbatim, each under a comment naming file:line) into
// out, never overwriting a file.
func (p *Plan) Write(out string) ([]Written, error) {
	if err := p.Check(out); err != nil {
		return nil, err
	}
	// config's own types, written without their empty fields.
	type person struct {
		Name       string `yaml:"name"`
		Role       string `yaml:"role"`
		OSUsername string `yaml:"os_username,omitempty"`
		Email      string `yaml:"email,omitempty"`
	}
	type agent struct {
		Command []string `yaml:"command"`
	}
	cfg := struct {
		Computer config.Computer   `yaml:"computer"`
		People   []person          `yaml:"people,omitempty"`
		Projects []config.Project  `yaml:"projects,omitempty"`
		Agents   map[string]agent  `yaml:"agents,omitempty"`
		Sessions map[string]string `yaml:"sessions,omitempty"`
	}{Computer: config.Computer{Name: p.Computer}, Projects: p.Projects, Agents: map[string]agent{}}
	for _, a := range p.Agents {
		cfg.Agents[a] = agent{Command: []string{a}}
	}
	if p.DefaultAgent != "" {
		cfg.Sessions = map[string]string{"default_agent": p.DefaultAgent}
	}
	for _, per := range p.People {
		cp := person{Name: per.Name, Role: per.Role, Email: per.Email}
		if per.Mapped {
			cp.OSUsername = per.Username
		}
		cfg.People = append(cfg.People, cp)
	}
	cfgData, err := marshal(cfg, "TeleClaude system config, imported from the upstream install "+p.Dir+".\nIt holds no secrets: every user may read it.")
	if err != nil {
		return nil, err
	}
	secData, err := marshal(p.secrets, "TeleClaude secrets, imported from "+p.Env+": only root and the service user may read it.")
	if err != nil {
		return nil, err
	}
	nc := &yaml.Node{Kind: yaml.MappingNode}
	for _, n := range p.notCarried {
		k := &yaml.Node{Kind: yaml.ScalarNode, Value: n.item.File + ":" + fmt.Sprint(n.item.Line) + " " + n.item.Key,
			HeadComment: "from " + n.item.String()}
		nc.Content = append(nc.Content, k, n.node)
	}
	ncData, err := marshal(nc, "Everything of the upstream install that has no counterpart in this program yet,\nverbatim, keyed by where it was (file:line key). Nothing was lost; it may hold secrets.")
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	var done []Written
	for _, f := range []struct {
		name, what string
		mode       os.FileMode
		data       []byte
	}{
		{"config.yml", "system config", 0o644, cfgData},
		{"secrets.yml", "secrets", 0o600, secData},
		{"not-carried.yml", "not carried", 0o600, ncData},
	} {
		path := filepath.Join(out, f.name)
		if err := writeFileNew(path, f.data, f.mode); err != nil {
			for _, d := range done {
				os.Remove(d.Path)
			}
			return nil, err
		}
		done = append(done, Written{Path: path, Mode: fmt.Sprintf("%04o", f.mode), What: f.what})
	}
	return done, nil
}

func writeFileNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%w %s", ErrExists, path)
	}
	if err != nil {
		return err
	}
	if err := f.Chmod(mode); err != nil { // past the umask
		f.Close()
		os.Remove(path)
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}
