package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/lapisdev/lapis/internal/cli/output"
)

// Exit codes, as az uses them.
const (
	exitError    = 1
	exitUsage    = 2
	exitNotFound = 3
)

// globals are the flags every command takes.
type globals struct {
	output       string
	query        string
	debug        bool
	verbose      bool
	onlyErrors   bool
	subscription string
	endpoint     string
	dataDir      string

	stdout, stderr io.Writer
	stdin          io.Reader
}

// usageError marks errors in how a command was called (exit 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// Main runs the CLI with args (without the program name) and returns the
// process exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	g := &globals{stdout: stdout, stderr: stderr, stdin: stdin}
	root := newRoot(g)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "ERROR: %s\n", oneLine(err.Error()))
	var ue *usageError
	var ae *apiError
	switch {
	case errors.As(err, &ue) || isCobraUsage(err):
		return exitUsage
	case errors.As(err, &ae) && ae.Status == http.StatusNotFound:
		return exitNotFound
	}
	return exitError
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown flag", "unknown shorthand flag", "unknown command", "flag needs an argument",
		"invalid argument", "required flag", "accepts ", "requires at least", "if any flags in the group"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

func newRoot(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "lapis",
		Short: "Lapis: Azure's serverless and event-driven stack in one binary",
		Long: `Lapis runs Functions, Event Grid, Service Bus, Event Hubs, Blob and Queue storage and
more in one process. "lapis start" runs the server; every other command manages it
the way az manages Azure: lapis group create -n myapp-rg -l eastus.`,
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if g.endpoint == "" {
				g.endpoint = os.Getenv("LAPIS_ENDPOINT")
			}
			if g.dataDir == "" {
				g.dataDir = os.Getenv("LAPIS_DATA_DIR")
			}
			if _, err := output.ParseFormat(g.output); err != nil {
				return &usageError{err.Error()}
			}
			if g.query != "" {
				if _, err := output.Query(g.query); err != nil {
					return &usageError{err.Error()}
				}
			}
			return nil
		},
	}
	root.CompletionOptions.HiddenDefaultCmd = true
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err.Error()} })
	pf := root.PersistentFlags()
	pf.StringVarP(&g.output, "output", "o", "json", "output format: json, jsonc, tsv, table, yaml, yamlc or none")
	pf.StringVar(&g.query, "query", "", "JMESPath query applied to the result, as in az")
	pf.BoolVar(&g.debug, "debug", false, "show every HTTP request and response")
	pf.BoolVar(&g.verbose, "verbose", false, "more logging")
	pf.BoolVar(&g.onlyErrors, "only-show-errors", false, "show only errors")
	pf.StringVar(&g.subscription, "subscription", "", "subscription id (default: the server's)")
	pf.StringVar(&g.endpoint, "endpoint", "", "management endpoint of a remote Lapis, used with LAPIS_TOKEN [env LAPIS_ENDPOINT]")
	pf.StringVar(&g.dataDir, "data-dir", "", "data directory of the local Lapis (default ./.lapis) [env LAPIS_DATA_DIR]")

	root.AddCommand(newStartCmd(g), newVersionCmd(g), newGroupCmd(g), newStorageCmd(g), newResourceCmd(g), newFuncCmd(g), newFunctionappCmd(g), newEventGridCmd(g), newCosmosDBCmd(g))
	return root
}

// print renders a command's result with -o and --query.
func (g *globals) print(v any) error {
	f, err := output.ParseFormat(g.output)
	if err != nil {
		return &usageError{err.Error()}
	}
	if f == output.JSONC {
		if out, ok := g.stdout.(*os.File); !ok || !term.IsTerminal(int(out.Fd())) {
			f = f.Plain() // colour only on a terminal, as az does
		}
	}
	var q *output.Compiled
	if g.query != "" {
		if q, err = output.Query(g.query); err != nil {
			return &usageError{err.Error()}
		}
	}
	return output.Write(g.stdout, v, f, q)
}

// printTable is print with az's default table columns for the command:
// when -o table is asked without --query, tableQuery picks and orders them.
func (g *globals) printTable(v any, tableQuery string) error {
	if g.query == "" && strings.EqualFold(g.output, string(output.Table)) {
		g.query = tableQuery
		defer func() { g.query = "" }()
	}
	return g.print(v)
}

// restArgs returns the values that follow a multi-value flag such as
// --tags a=b c=d or --ids x y: az takes a list after one flag, so the
// words after it arrive as positional arguments. A command that takes no
// positional arguments of its own uses it to collect them.
func restArgs(cmd *cobra.Command, args []string, multi ...string) ([]string, error) {
	if len(args) == 0 {
		return nil, nil
	}
	for _, m := range multi {
		if cmd.Flags().Changed(m) {
			return args, nil
		}
	}
	return nil, usagef("unrecognized arguments: %s", strings.Join(args, " "))
}

// bindEnv sets every flag of fs that was not given from LAPIS_<FLAG_NAME>.
func bindEnv(fs *pflag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed || err != nil {
			return
		}
		env := "LAPIS_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = usagef("%s=%q: %v", env, v, e)
			}
		}
	})
	return err
}

// parseTags turns az's tag words (each "key[=value]") into a map; "" alone clears.
func parseTags(words []string) (map[string]string, error) {
	tags := map[string]string{}
	for _, w := range words {
		if w == "" {
			continue
		}
		k, v, _ := strings.Cut(w, "=")
		if k == "" {
			return nil, usagef("invalid tag %q: use key[=value]", w)
		}
		tags[k] = v
	}
	return tags, nil
}

// noun is a command that only groups subcommands: alone it prints help, and
// an unknown subcommand is a usage error, as in az.
func noun(use, short string) *cobra.Command {
	return &cobra.Command{Use: use, Short: short, Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("'%s' is misspelled or not recognized by the system; see 'lapis %s --help'", args[0], cmd.CommandPath()[len("lapis "):])
			}
			return cmd.Help()
		}}
}

// noArgs rejects positional arguments with az's wording.
func noArgs(_ *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("unrecognized arguments: %s", strings.Join(args, " "))
	}
	return nil
}
