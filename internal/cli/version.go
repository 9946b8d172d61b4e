package cli

import (
	"github.com/spf13/cobra"

	"github.com/lapisdev/lapis/internal/version"
)

func newVersionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the Lapis version",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			return g.print(map[string]string{"lapis": version.String()})
		},
	}
}
