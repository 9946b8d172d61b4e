// Package sdkdist carries the source of the Lapis Go SDK (module github.com/lapisdev/lapis/sdk) inside the lapis
// binary, so that an app made by "lapis func init" builds offline on a machine that has only Go and lapis: the SDK
// is on no module proxy, so Install writes it to a local directory and the app's go.mod points there with a
// replace directive.
//
// go:embed cannot reach into sdk/, another module, so files/ holds a generated copy: go.mod as go.mod.txt (so Go
// does not see a module boundary) and every non-test .go file as NAME.go.txt (so it is not compiled into lapis).
// Regenerate it after changing the SDK with
//
//	go generate ./internal/sdkdist
//
// TestEmbeddedCopyIsCurrent fails when the copy is stale.
package sdkdist
