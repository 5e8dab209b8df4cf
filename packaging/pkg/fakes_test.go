package pkg

// Recording stand-ins for the macOS commands the scripts call. The test
// binary is linked into a directory on the scripts' PATH under each
// command's name; run under that name, TestMain hands over to the stand-in,
// which appends its command line to $FAKE_LOG and keeps a small model of
// the machine (directory services, launchd, receipts) in $FAKE_STATE, so
// that a second run sees what the first one did. They answer the way the
// real commands do where the scripts depend on it (output formats, exit
// statuses), and refuse what the real ones would (an unknown owner for
// chown, a group-writable plist for launchd).

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"howett.net/plist"
)

// machine is the stand-ins' model of the Mac.
type machine struct {
	Users  map[string]map[string]string `json:"users"`  // name → attribute → value
	Groups map[string]map[string]string `json:"groups"` // name → attribute → value
	// Loaded is the plist of the job launchd has loaded ("" for none).
	Loaded  string `json:"loaded"`
	Enabled bool   `json:"enabled"`
	// Disabled is a "disabled" override (launchctl disable).
	Disabled bool `json:"disabled"`
	// StopSeconds is how long the job takes to exit after a bootout;
	// Stopping counts down the seconds left, advanced by sleep.
	StopSeconds int `json:"stop_seconds"`
	Stopping    int `json:"stopping"`
	// RefuseBootstrap makes launchd refuse that many bootstraps first.
	RefuseBootstrap int      `json:"refuse_bootstrap"`
	Receipts        []string `json:"receipts"`
}

// newMachine is a Mac with a few of Apple's own accounts.
func newMachine() *machine {
	m := &machine{Users: map[string]map[string]string{}, Groups: map[string]map[string]string{}}
	for name, id := range map[string]string{"root": "0", "nobody": "-2", "daemon": "1", "_www": "70", "_amavisd": "83"} {
		m.Users[name] = map[string]string{"UniqueID": id, "PrimaryGroupID": id}
	}
	for name, id := range map[string]string{"wheel": "0", "staff": "20", "admin": "80", "_www": "70", "nobody": "-2"} {
		m.Groups[name] = map[string]string{"PrimaryGroupID": id}
	}
	return m
}

const label = "ai.instrukt.teleclaude"

var fakes = map[string]func(m *machine, args []string) int{
	"dscl":        fakeDscl,
	"dseditgroup": fakeDseditgroup,
	"launchctl":   fakeLaunchctl,
	"pkgutil":     fakePkgutil,
	"chown":       fakeChown,
	"sleep": func(m *machine, args []string) int {
		n, err := strconv.Atoi(strings.Join(args, " "))
		if err != nil {
			return usage("sleep", args)
		}
		m.Stopping = max(m.Stopping-n, 0)
		return 0
	},
	"id": func(_ *machine, args []string) int {
		if !slices.Equal(args, []string{"-u"}) {
			return usage("id", args)
		}
		fmt.Println(0)
		return 0
	},
}

// runFake runs the stand-in called name and returns its exit status.
func runFake(name string, args []string) int {
	if err := appendLine(os.Getenv("FAKE_LOG"), render(name, args)); err != nil {
		fmt.Fprintln(os.Stderr, "stand-in:", err)
		return 70
	}
	m, err := loadMachine(os.Getenv("FAKE_STATE"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "stand-in:", err)
		return 70
	}
	code := fakes[name](m, args)
	if err := m.save(os.Getenv("FAKE_STATE")); err != nil {
		fmt.Fprintln(os.Stderr, "stand-in:", err)
		return 70
	}
	return code
}

// render writes a command line as a log line: words with spaces quoted.
func render(name string, args []string) string {
	words := []string{name}
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " '\"") {
			a = strconv.Quote(a)
		}
		words = append(words, a)
	}
	return strings.Join(words, " ")
}

func appendLine(file, line string) error {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = fmt.Fprintln(f, line)
	return err
}

func loadMachine(file string) (*machine, error) {
	m := newMachine()
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return m, json.Unmarshal(data, m)
}

func (m *machine) save(file string) error {
	data, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(file, data, 0o600)
}

func usage(name string, args []string) int {
	fmt.Fprintf(os.Stderr, "stand-in %s: unexpected arguments %q\n", name, args)
	return 64
}

// record splits "/Users/NAME" into the user map and NAME.
func (m *machine) record(path string) (map[string]map[string]string, string, bool) {
	kind, name, ok := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	switch {
	case !ok && kind == "Users":
		return m.Users, "", true
	case !ok && kind == "Groups":
		return m.Groups, "", true
	case kind == "Users" && name != "" && !strings.Contains(name, "/"):
		return m.Users, name, true
	case kind == "Groups" && name != "" && !strings.Contains(name, "/"):
		return m.Groups, name, true
	}
	return nil, "", false
}

func fakeDscl(m *machine, args []string) int {
	if len(args) < 3 || args[0] != "." {
		return usage("dscl", args)
	}
	recs, name, ok := m.record(args[2])
	if !ok {
		return usage("dscl", args)
	}
	rest := args[3:]
	notFound := func() int {
		fmt.Fprintf(os.Stderr, "<dscl_cmd> DS Error: -14136 (eDSRecordNotFound)\n")
		return 56
	}
	switch args[1] {
	case "-list":
		if name != "" || len(rest) != 1 {
			return usage("dscl", args)
		}
		names := make([]string, 0, len(recs))
		for n := range recs {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			if v, ok := recs[n][rest[0]]; ok {
				fmt.Printf("%-24s %s\n", n, v)
			}
		}
		return 0
	case "-read":
		rec, ok := recs[name]
		if name == "" || len(rest) != 1 {
			return usage("dscl", args)
		}
		if !ok {
			return notFound()
		}
		v, ok := rec[rest[0]]
		if rest[0] == "RecordName" {
			v, ok = name, true
		}
		if !ok {
			fmt.Fprintf(os.Stderr, "No such key: %s\n", rest[0])
			return 181
		}
		fmt.Printf("%s: %s\n", rest[0], v)
		return 0
	case "-create":
		if name == "" || len(rest) == 1 || len(rest) > 2 {
			return usage("dscl", args)
		}
		if recs[name] == nil {
			recs[name] = map[string]string{}
		}
		if len(rest) == 2 {
			recs[name][rest[0]] = rest[1]
		}
		return 0
	case "-delete":
		if name == "" || len(rest) != 0 {
			return usage("dscl", args)
		}
		if recs[name] == nil {
			return notFound()
		}
		delete(recs, name)
		return 0
	}
	return usage("dscl", args)
}

func fakeDseditgroup(m *machine, args []string) int {
	if len(args) < 3 || args[0] != "-o" {
		return usage("dseditgroup", args)
	}
	op, name, opts := args[1], args[len(args)-1], args[2:len(args)-1]
	switch op {
	case "create":
		rec := map[string]string{}
		for i := 0; i+1 < len(opts); i += 2 {
			switch opts[i] {
			case "-i":
				rec["PrimaryGroupID"] = opts[i+1]
			case "-r":
				rec["RealName"] = opts[i+1]
			default:
				return usage("dseditgroup", args)
			}
		}
		if len(opts)%2 != 0 || rec["PrimaryGroupID"] == "" {
			return usage("dseditgroup", args)
		}
		if m.Groups[name] != nil {
			fmt.Fprintf(os.Stderr, "Group already exists: %s\n", name)
			return 1
		}
		m.Groups[name] = rec
		return 0
	case "delete":
		if len(opts) != 0 {
			return usage("dseditgroup", args)
		}
		if m.Groups[name] == nil {
			fmt.Fprintf(os.Stderr, "Group not found.\n")
			return 1
		}
		delete(m.Groups, name)
		return 0
	}
	return usage("dseditgroup", args)
}

func fakeLaunchctl(m *machine, args []string) int {
	service := "system/" + label
	notFound := func() int {
		fmt.Fprintf(os.Stderr, "Could not find service %q in domain for system\n", label)
		return 113
	}
	switch {
	case len(args) == 2 && args[0] == "print" && args[1] == service:
		if m.Stopping > 0 {
			fmt.Printf("%s = {\n\tstate = exiting\n}\n", service)
			return 0
		}
		if m.Loaded == "" {
			return notFound()
		}
		fmt.Printf("%s = {\n\tpath = %s\n}\n", service, m.Loaded)
		return 0
	case len(args) == 2 && args[0] == "bootout" && args[1] == service:
		if m.Loaded == "" {
			fmt.Fprintln(os.Stderr, "Boot-out failed: 3: No such process")
			return 3
		}
		m.Loaded = ""
		if m.StopSeconds > 0 {
			// A slow daemon: launchd gives up waiting and reports an error,
			// and the job stays until the process has exited.
			m.Stopping = m.StopSeconds
			fmt.Fprintln(os.Stderr, "Boot-out failed: 36: Operation now in progress")
			return 36
		}
		return 0
	case len(args) == 2 && args[0] == "enable" && args[1] == service:
		m.Enabled, m.Disabled = true, false
		return 0
	case len(args) == 2 && args[0] == "disable" && args[1] == service:
		m.Enabled, m.Disabled = false, true
		return 0
	case len(args) == 3 && args[0] == "bootstrap" && args[1] == "system":
		refuse := func(why string) int {
			fmt.Fprintf(os.Stderr, "%sBootstrap failed: 5: Input/output error\n", why)
			return 5
		}
		if m.RefuseBootstrap > 0 {
			m.RefuseBootstrap--
			return refuse("")
		}
		if m.Loaded != "" || m.Stopping > 0 {
			return refuse("")
		}
		st, err := os.Stat(args[2])
		if err != nil {
			return refuse(err.Error() + "\n")
		}
		if owner(st) != 0 || st.Mode().Perm()&0o022 != 0 {
			return refuse(fmt.Sprintf("%s: Path had bad ownership/permissions\n", args[2]))
		}
		var job struct{ Label string }
		data, _ := os.ReadFile(args[2])
		if _, err := plist.Unmarshal(data, &job); err != nil || job.Label != label {
			return refuse(fmt.Sprintf("%s: not a plist for %s (%v)\n", args[2], label, err))
		}
		m.Loaded = args[2]
		return 0
	case len(args) >= 2 && args[0] == "kickstart" && args[len(args)-1] == service:
		if m.Loaded == "" {
			return notFound()
		}
		return 0
	}
	return usage("launchctl", args)
}

func fakePkgutil(m *machine, args []string) int {
	if len(args) != 2 || args[0] != "--forget" {
		return usage("pkgutil", args)
	}
	i := slices.Index(m.Receipts, args[1])
	if i < 0 {
		fmt.Fprintf(os.Stderr, "No receipt for '%s' found at '/'.\n", args[1])
		return 1
	}
	m.Receipts = slices.Delete(m.Receipts, i, i+1)
	fmt.Printf("Forgot package '%s' on '/'.\n", args[1])
	return 0
}

// fakeChown resolves names through the model and changes owners for real
// (the tests run as root), so the scripts see what they did.
func fakeChown(m *machine, args []string) int {
	recursive, noFollow := false, false
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "-R":
			recursive = true
		case "-h":
			noFollow = true
		case "-P": // with -R: links inside are changed, not followed (as the walk below)
		default:
			return usage("chown", args)
		}
		args = args[1:]
	}
	if len(args) < 2 {
		return usage("chown", args)
	}
	user, group, _ := strings.Cut(args[0], ":")
	id := func(recs map[string]map[string]string, name, key, what string) (int, bool) {
		if name == "" {
			return -1, true
		}
		rec, ok := recs[name]
		n, err := strconv.Atoi(rec[key])
		if !ok || err != nil {
			fmt.Fprintf(os.Stderr, "chown: %s: illegal %s name\n", name, what)
			return 0, false
		}
		return n, true
	}
	uid, ok1 := id(m.Users, user, "UniqueID", "user")
	gid, ok2 := id(m.Groups, group, "PrimaryGroupID", "group")
	if !ok1 || !ok2 {
		return 1
	}
	for _, p := range args[1:] {
		var err error
		switch {
		case recursive:
			err = filepath.WalkDir(p, func(q string, _ fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				return os.Lchown(q, uid, gid)
			})
		case noFollow:
			err = os.Lchown(p, uid, gid)
		default:
			err = os.Chown(p, uid, gid)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "chown: %v\n", err)
			return 1
		}
	}
	return 0
}
