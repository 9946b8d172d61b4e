// Command lapis runs the Lapis server (lapis start) and manages it the way
// az manages Azure.
package main

import (
	"context"
	"os"

	"github.com/lapisdev/lapis/internal/cli"
)

func main() {
	os.Exit(cli.Main(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
