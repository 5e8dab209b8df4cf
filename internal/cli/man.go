package cli

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/instruktai/teleclaude/internal/version"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// manCommand is the hidden `gen-man DIR` that both programs have: it writes
// the program's man page, DIR/<name>.1, which the packages generate at build
// time (packaging/mkpkgs), so the page always matches the commands.
func manCommand(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:    "gen-man DIR",
		Short:  "Write this program's man page into DIR",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			date, err := sourceDate()
			if err != nil {
				return err
			}
			if err := os.MkdirAll(args[0], 0o755); err != nil {
				return err
			}
			path := filepath.Join(args[0], root.Name()+".1")
			f, err := os.Create(path)
			if err != nil {
				return err
			}
			if err := WriteMan(f, root, date); err != nil {
				f.Close()
				return fmt.Errorf("write %s: %w", path, err)
			}
			return f.Close()
		},
	}
}

// sourceDate is SOURCE_DATE_EPOCH when it is set (reproducible builds),
// else now.
func sourceDate() (time.Time, error) {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		return time.Now(), nil
	}
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: not a number of seconds", s)
	}
	return time.Unix(sec, 0).UTC(), nil
}

// WriteMan writes one section-1 man page for the program root that covers
// every command it has: `man telec` tells the whole story, and the page
// list of a package does not change when a command is added.
func WriteMan(w io.Writer, root *cobra.Command, date time.Time) error {
	root.InitDefaultHelpFlag()
	root.InitDefaultVersionFlag()
	initCompletion(root)
	bw := bufio.NewWriter(w)
	name := root.Name()
	fmt.Fprintf(bw, ".TH %s 1 %q %q \"TeleClaude Manual\"\n", strings.ToUpper(name), date.Format("January 2006"), "TeleClaude "+version.String())
	fmt.Fprintf(bw, ".SH NAME\n%s \\- %s\n", name, roffText(root.Short))
	fmt.Fprintf(bw, ".SH SYNOPSIS\n.B %s\n[\\fIOPTIONS\\fR] \\fICOMMAND\\fR [\\fIARGUMENTS\\fR]\n", name)
	fmt.Fprint(bw, ".SH DESCRIPTION\n")
	paragraphs(bw, root.Long)
	fmt.Fprint(bw, ".SH OPTIONS\nThese apply to every command.\n")
	flags(bw, root.PersistentFlags())
	flags(bw, root.LocalNonPersistentFlags())
	fmt.Fprint(bw, ".SH COMMANDS\n")
	commands(bw, root, false)
	for _, sec := range manSections[root] {
		section(bw, sec)
	}
	var others []string
	for _, p := range []string{"teleclaude", "telec"} {
		if p != name {
			others = append(others, `\fB`+p+`\fR(1)`)
		}
	}
	fmt.Fprintf(bw, ".SH \"SEE ALSO\"\n%s\n", strings.Join(others, ", "))
	return bw.Flush()
}

// ManSection is a section of a program's man page beyond its commands:
// ENVIRONMENT, FILES, EXIT STATUS, CONFIGURATION, EXAMPLES. Text comes
// first (paragraphs separated by blank lines), then one tagged paragraph
// per item; in an example section, each item's tag is a command line shown
// as typed, after its text.
type ManSection struct {
	Title   string
	Text    string
	Items   []ManItem
	Example bool
}

// ManItem is one tagged paragraph of a ManSection: its tag, then its text.
type ManItem [2]string

var manSections = map[*cobra.Command][]ManSection{}

// SetManSections gives root's man page these sections, in this order,
// after its commands.
func SetManSections(root *cobra.Command, secs ...ManSection) {
	manSections[root] = secs
}

func section(w io.Writer, s ManSection) {
	fmt.Fprintf(w, ".SH %q\n", s.Title)
	if s.Text != "" {
		paragraphs(w, s.Text)
	}
	for _, it := range s.Items {
		if s.Example {
			fmt.Fprint(w, ".PP\n")
			paragraphs(w, it[1])
			fmt.Fprint(w, ".PP\n.RS 4\n.nf\n")
			for _, line := range strings.Split(it[0], "\n") {
				fmt.Fprintln(w, roffText(line))
			}
			fmt.Fprint(w, ".fi\n.RE\n")
			continue
		}
		fmt.Fprintf(w, ".TP\n\\fB%s\\fR\n", roffText(it[0]))
		paragraphs(w, it[1])
	}
}

// commands writes a subsection for each command under c, depth first.
// The completion commands get their one-line summary only: cobra's long
// text for them is shell instructions that the packages make unneeded.
func commands(w io.Writer, c *cobra.Command, short bool) {
	for _, sub := range c.Commands() {
		if !sub.IsAvailableCommand() || sub.IsAdditionalHelpTopicCommand() {
			continue
		}
		brief := short || (c == c.Root() && sub.Name() == "completion")
		fmt.Fprintf(w, ".SS %q\n", sub.CommandPath())
		fmt.Fprintf(w, ".B %s\n.PP\n", roffText(sub.UseLine()))
		text := sub.Long
		if text == "" || brief {
			text = sub.Short
		}
		paragraphs(w, text)
		flags(w, sub.LocalNonPersistentFlags())
		commands(w, sub, brief)
	}
}

// flags writes one tagged paragraph per visible flag.
func flags(w io.Writer, fs *pflag.FlagSet) {
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		varname, usage := pflag.UnquoteUsage(f)
		tag := `\fB\-\-` + roffText(f.Name) + `\fR`
		if f.Shorthand != "" {
			tag = `\fB\-` + f.Shorthand + `\fR, ` + tag
		}
		if varname != "" {
			tag += ` \fI` + roffText(varname) + `\fR`
		}
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "[]" && f.DefValue != "0" {
			usage += " (default " + f.DefValue + ")"
		}
		fmt.Fprintf(w, ".TP\n%s\n%s\n", tag, roffText(usage))
	})
}

// paragraphs writes text, whose paragraphs are separated by blank lines.
func paragraphs(w io.Writer, text string) {
	for i, p := range strings.Split(strings.TrimSpace(text), "\n\n") {
		if i > 0 {
			fmt.Fprint(w, ".PP\n")
		}
		for _, line := range strings.Split(strings.TrimSpace(p), "\n") {
			fmt.Fprintln(w, roffText(line))
		}
	}
}

// roffText escapes text for roff: backslashes, hyphens (which roff would
// otherwise render as typographic hyphens in option names) and a leading
// control character.
func roffText(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}
