package fn_test

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/lapisdev/lapis/sdk/fn"
)

// A blob-triggered function, the seed's process_image: it reads the
// uploaded blob's name and size and writes a small blob beside it. The
// payload is Azure's for a "binary" blob trigger: the content in base64,
// the URI, properties, metadata and the path's {name} in Metadata.
func ExampleApp_Blob() {
	app := fn.NewApp()
	app.Blob("process_image", "images/{name}", func(ctx *fn.Context, blob fn.BlobInfo) error {
		ctx.Logf("Processing blob: %s, size: %d bytes", blob.Name, blob.Properties.Length)
		ctx.SetBlob("size", []byte(strconv.Itoa(len(blob.Content))))
		return nil
	}, fn.Connection("AzureWebJobsStorage"),
		fn.BlobOutput("size", "thumbnails/{name}.txt", fn.DataType("string")))

	fmt.Println(invoke(app, "process_image", `{"Data":{"blob":"iVBORw0KGgo="},"Metadata":{
		"Uri":"http://127.0.0.1:10000/devstoreaccount1/images/cat.png",
		"Properties":{"ContentLength":8,"ContentType":"image/png","LastModified":"2026-01-01T09:30:00+00:00"},
		"Metadata":{},"name":"cat.png"}}`))
	// Output:
	// 200 {"Outputs":{"size":"8"},"Logs":["Processing blob: images/cat.png, size: 8 bytes"],"ReturnValue":null}
}

// A queue-triggered function with a blob input named by a property of the
// message's JSON, and a binary blob output. A blob that does not exist
// arrives as null, which BlobInput reports as ErrBlobNotFound.
func ExampleContext_BlobInput() {
	app := fn.NewApp()
	app.Queue("copy_blob", "copy-requests", func(ctx *fn.Context, msg fn.QueueMessage) error {
		src, err := ctx.BlobInput("src")
		if errors.Is(err, fn.ErrBlobNotFound) {
			ctx.Logf("nothing to copy")
			return nil
		} else if err != nil {
			return err
		}
		ctx.SetBlob("dst", src) // sent in base64, as the binding is binary
		return nil
	}, fn.BlobInput("src", "inbox/{file}"), fn.BlobOutput("dst", "archive/{file}"))

	fmt.Println(invoke(app, "copy_blob", `{"Data":{"msg":"{\"file\":\"a.bin\"}","src":"AAH/"},"Metadata":{"file":"a.bin"}}`))
	fmt.Println(invoke(app, "copy_blob", `{"Data":{"msg":"{\"file\":\"b.bin\"}","src":null},"Metadata":{"file":"b.bin"}}`))
	// Output:
	// 200 {"Outputs":{"dst":"AAH/"},"Logs":[],"ReturnValue":null}
	// 200 {"Outputs":{},"Logs":["nothing to copy"],"ReturnValue":null}
}
