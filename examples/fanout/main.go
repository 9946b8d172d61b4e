// Command fanout is the seed's fan-out pattern on Lapis: an upload to the
// uploads container raises Microsoft.Storage.BlobCreated on the storage
// account's system topic, and three event subscriptions deliver it to three
// functions, each doing its own (small, real) work on the blob:
//
//	thumbnail  decodes a PNG, JPEG or GIF and writes a PNG at most 64 pixels
//	           wide or high to thumbnails/{event id}.png
//	scan       hashes the blob (SHA-256) and looks for the EICAR test
//	           signature, writing its verdict to scans/{event id}.json
//	metadata   sniffs the content type, size and, for images, dimensions,
//	           or for text, lines and words, into metadata/{event id}.json
//
// Each reads the uploaded blob with a blob input binding whose path is the
// event's {data.url}, as an Azure Functions app would. setup.sh creates the
// storage account, the app, the system topic and the three subscriptions
// with lapis commands; see README.md.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	_ "image/gif" // image formats the thumbnail generator decodes
	_ "image/jpeg"
	"image/png"
	"net/http"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/lapisdev/lapis/sdk/fn"
)

// blobCreated is the data of Microsoft.Storage.BlobCreated.
type blobCreated struct {
	URL           string `json:"url"`
	ContentType   string `json:"contentType"`
	ContentLength int64  `json:"contentLength"`
}

// upload decodes the event's data and reads the blob it names.
func upload(ctx *fn.Context, ev fn.EventGridEvent) (blobCreated, []byte, error) {
	var d blobCreated
	if err := ev.DataJSON(&d); err != nil {
		return d, nil, err
	}
	content, err := ctx.BlobInput("upload")
	if err != nil {
		return d, nil, fmt.Errorf("reading %s: %w", d.URL, err)
	}
	return d, content, nil
}

func main() {
	app := fn.NewApp()
	in := fn.BlobInput("upload", "{data.url}")
	app.EventGrid("thumbnail", thumbnail, in, fn.BlobOutput("thumb", "thumbnails/{id}.png"))
	app.EventGrid("scan", scan, in, fn.BlobOutput("verdict", "scans/{id}.json"))
	app.EventGrid("metadata", metadata, in, fn.BlobOutput("meta", "metadata/{id}.json"))
	app.Run()
}

// maxThumb is the thumbnail's largest side, in pixels.
const maxThumb = 64

func thumbnail(ctx *fn.Context, ev fn.EventGridEvent) error {
	d, content, err := upload(ctx, ev)
	if err != nil {
		return err
	}
	img, format, err := image.Decode(bytes.NewReader(content))
	if err != nil {
		ctx.Logf("%s is not an image I can read (%v): no thumbnail", path.Base(d.URL), err)
		return nil
	}
	var out bytes.Buffer
	if err := png.Encode(&out, scale(img, maxThumb)); err != nil {
		return err
	}
	ctx.SetBlob("thumb", out.Bytes())
	b := img.Bounds()
	ctx.Logf("thumbnail of %s (%s %dx%d): %d bytes", path.Base(d.URL), format, b.Dx(), b.Dy(), out.Len())
	return nil
}

// scale shrinks img so that its larger side is at most limit pixels, by
// nearest neighbour.
func scale(img image.Image, limit int) image.Image {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= limit && h <= limit {
		return img
	}
	tw, th := limit, h*limit/w
	if h > w {
		tw, th = w*limit/h, limit
	}
	tw, th = max(tw, 1), max(th, 1)
	dst := image.NewRGBA(image.Rect(0, 0, tw, th))
	for y := range th {
		for x := range tw {
			dst.Set(x, y, img.At(b.Min.X+x*w/tw, b.Min.Y+y*h/th))
		}
	}
	return dst
}

// eicar is the EICAR anti-virus test signature: every scanner reports a
// file that starts with it.
const eicar = `X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`

func scan(ctx *fn.Context, ev fn.EventGridEvent) error {
	d, content, err := upload(ctx, ev)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(content)
	infected := bytes.Contains(content, []byte(eicar))
	verdict := map[string]any{"blob": d.URL, "sha256": hex.EncodeToString(sum[:]), "size": len(content), "infected": infected}
	if infected {
		verdict["signature"] = "EICAR-Test-File"
	}
	b, _ := json.Marshal(verdict)
	ctx.SetBlob("verdict", b)
	ctx.Logf("scanned %s: infected=%v", path.Base(d.URL), infected)
	return nil
}

func metadata(ctx *fn.Context, ev fn.EventGridEvent) error {
	d, content, err := upload(ctx, ev)
	if err != nil {
		return err
	}
	meta := map[string]any{"blob": d.URL, "name": path.Base(d.URL), "size": len(content),
		"declaredContentType": d.ContentType, "sniffedContentType": http.DetectContentType(content)}
	if cfg, format, err := image.DecodeConfig(bytes.NewReader(content)); err == nil {
		meta["image"] = map[string]any{"format": format, "width": cfg.Width, "height": cfg.Height}
	} else if utf8.Valid(content) {
		meta["text"] = map[string]any{"lines": strings.Count(string(content), "\n") + 1, "words": len(strings.Fields(string(content)))}
	}
	b, _ := json.Marshal(meta)
	ctx.SetBlob("meta", b)
	ctx.Logf("metadata of %s: %s", path.Base(d.URL), meta["sniffedContentType"])
	return nil
}
