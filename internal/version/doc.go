// Package version tells which Lapis this is: the release or module version,
// the VCS revision and the Go toolchain, for `lapis version`, the start banner,
// server.json and the lapis_build_info metric.
package version
