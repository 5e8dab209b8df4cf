package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"text/tabwriter"

	"github.com/instruktai/teleclaude/internal/apitype"
	"github.com/instruktai/teleclaude/internal/cli"
	"github.com/spf13/cobra"
)

func (a *app) docsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "docs",
		Short: "Read and add the machine's shared docs",
		Long: `Shared docs are Markdown snippets for the people of this machine. A
snippet's front matter names the lowest role that may read it:

  ---
  role: newcomer
  ---

Without one, members and admins may read it. Members and admins add docs.`,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the docs you may read",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var ds []apitype.Doc
			if err := a.call(http.MethodGet, "/v1/docs", nil, &ds); err != nil {
				return err
			}
			if a.json {
				return cli.PrintJSON(a.out, ds)
			}
			if len(ds) == 0 {
				fmt.Fprintln(a.out, "no docs")
				return nil
			}
			tw := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
			for _, d := range ds {
				fmt.Fprintf(tw, "%s\t%s\t%d bytes\n", d.Name, d.Role, d.Size)
			}
			return tw.Flush()
		},
	}, &cobra.Command{
		Use:               "show NAME",
		ValidArgsFunction: a.completeDoc,
		Short:             "Print a doc",
		Args:              cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var d apitype.Doc
			if err := a.call(http.MethodGet, "/v1/docs/"+url.PathEscape(args[0]), nil, &d); err != nil {
				return err
			}
			if a.json {
				return cli.PrintJSON(a.out, d)
			}
			_, err := io.WriteString(a.out, d.Content)
			return err
		},
	}, &cobra.Command{
		Use:               "put NAME FILE",
		ValidArgsFunction: a.completeDoc,
		Short:             "Add or replace a doc from FILE (- for standard input)",
		Args:              cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var b []byte
			var err error
			if args[1] == "-" {
				b, err = io.ReadAll(io.LimitReader(os.Stdin, 1<<20+1))
			} else {
				b, err = os.ReadFile(args[1])
			}
			if err != nil {
				return cli.Usagef("read %s: %v", args[1], err)
			}
			var d apitype.Doc
			if err := a.call(http.MethodPut, "/v1/docs/"+url.PathEscape(args[0]), apitype.DocPut{Content: string(b)}, &d); err != nil {
				return err
			}
			if a.json {
				return cli.PrintJSON(a.out, d)
			}
			fmt.Fprintf(a.out, "doc %s saved (readable by %s and above)\n", d.Name, d.Role)
			return nil
		},
	})
	return cmd
}
