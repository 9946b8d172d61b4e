// Package cli is the lapis command: `lapis start` runs the server, and the
// other commands are a client of its management API shaped like the Azure
// CLI, so that az's lines run with az replaced by lapis (same nouns, flags,
// --query, -o, exit codes and error lines).
//
// The CLI finds a local server by itself: --data-dir or LAPIS_DATA_DIR, else
// ./.lapis in this or a parent directory, else the data directory of the
// server started last; it reads the endpoint from server.json and the token
// from admin.key there. Remote use takes --endpoint (LAPIS_ENDPOINT) and
// LAPIS_TOKEN.
package cli
