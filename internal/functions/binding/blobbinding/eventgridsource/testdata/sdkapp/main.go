// Command sdkapp is a Go SDK function app for the end-to-end tests of the blob trigger's source EventGrid. Both
// of its blob functions record what they got as a JSON blob under calls/{container}/{name}/: "onupload" watches
// uploads/ with source EventGrid (and fails for blobs whose name starts with "fail"), "onscan" watches scans/
// with the default source.
package main

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/lapisdev/lapis/sdk/fn"
)

func record(ctx *fn.Context, blob fn.BlobInfo) error {
	if strings.HasPrefix(blob.Params["name"], "fail") {
		return errors.New("failing on purpose")
	}
	rec, err := json.Marshal(map[string]any{"name": blob.Name, "uri": blob.URI, "etag": blob.Properties.ETag,
		"length": blob.Properties.Length, "metadata": blob.Metadata, "params": blob.Params, "content": string(blob.Content)})
	if err != nil {
		return err
	}
	ctx.SetBlob("record", rec)
	return nil
}

func main() {
	app := fn.NewApp()
	app.Blob("onupload", "uploads/{name}", record, fn.Prop{Key: "source", Value: "EventGrid"},
		fn.BlobOutput("record", "calls/uploads/{name}/{rand-guid}.json", fn.DataType("string")))
	app.Blob("onscan", "scans/{name}", record,
		fn.BlobOutput("record", "calls/scans/{name}/{rand-guid}.json", fn.DataType("string")))
	app.Run()
}
