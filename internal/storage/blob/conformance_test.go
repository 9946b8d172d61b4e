package blob_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/appendblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

var bg = context.Background()

func TestContainers(t *testing.T) {
	l := newLapis(t)
	c := l.client
	for _, n := range []string{"alpha", "beta-1", "beta-2", "gamma"} {
		if _, err := c.CreateContainer(bg, n, &azblob.CreateContainerOptions{Metadata: map[string]*string{"owner": to.Ptr(n)}}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := c.CreateContainer(bg, "alpha", nil)
	wantCode(t, err, "ContainerAlreadyExists", 409)

	for _, bad := range []string{"ab", "Upper", "a--b", "-ab", "ab-", "a_b", strings.Repeat("a", 64), "a.b"} {
		_, err := c.CreateContainer(bg, bad, nil)
		wantCode(t, err, "InvalidResourceName", 400)
	}

	// Paging with a prefix, two at a time, with metadata.
	var names []string
	pager := c.NewListContainersPager(&azblob.ListContainersOptions{Prefix: to.Ptr("beta"), MaxResults: to.Ptr[int32](1),
		Include: azblob.ListContainersInclude{Metadata: true}})
	pages := 0
	for pager.More() {
		page, err := pager.NextPage(bg)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, it := range page.ContainerItems {
			names = append(names, *it.Name)
			if it.Metadata["owner"] == nil || *it.Metadata["owner"] != *it.Name {
				t.Errorf("container %s metadata %v", *it.Name, it.Metadata)
			}
			if it.Properties.ETag == nil || it.Properties.LastModified == nil {
				t.Errorf("container %s has no etag or last-modified", *it.Name)
			}
		}
	}
	if !slices.Equal(names, []string{"beta-1", "beta-2"}) || pages != 2 {
		t.Fatalf("listed %v in %d pages", names, pages)
	}

	cc := c.ServiceClient().NewContainerClient("gamma")
	props, err := cc.GetProperties(bg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *props.Metadata["Owner"] != "gamma" && *props.Metadata["owner"] != "gamma" {
		t.Fatalf("metadata %v", props.Metadata)
	}
	if _, err := cc.SetMetadata(bg, &container.SetMetadataOptions{Metadata: map[string]*string{"k": to.Ptr("v")}}); err != nil {
		t.Fatal(err)
	}
	props2, err := cc.GetProperties(bg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(props2.Metadata) != 1 || *props2.ETag == *props.ETag {
		t.Fatalf("after set metadata: %v etag %v (was %v)", props2.Metadata, *props2.ETag, *props.ETag)
	}

	// Public access level through the ACL.
	if _, err := cc.SetAccessPolicy(bg, &container.SetAccessPolicyOptions{Access: to.Ptr(container.PublicAccessTypeBlob)}); err != nil {
		t.Fatal(err)
	}
	acl, err := cc.GetAccessPolicy(bg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if acl.BlobPublicAccess == nil || *acl.BlobPublicAccess != container.PublicAccessTypeBlob {
		t.Fatalf("public access %v", acl.BlobPublicAccess)
	}

	resp, err := c.DeleteContainer(bg, "gamma", nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp
	_, err = cc.GetProperties(bg, nil)
	wantCode(t, err, "ContainerNotFound", 404)
	_, err = c.DeleteContainer(bg, "gamma", nil)
	wantCode(t, err, "ContainerNotFound", 404)

	// The service and account endpoints the SDK calls.
	if _, err := c.ServiceClient().GetProperties(bg, nil); err != nil {
		t.Fatal(err)
	}
	info, err := c.ServiceClient().GetAccountInfo(bg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if info.SKUName == nil || *info.SKUName != service.SKUNameStandardLRS {
		t.Fatalf("account info %+v", info)
	}
}

func TestPutGetBlob(t *testing.T) {
	l := newLapis(t)
	l.mkContainer("data")
	body := []byte("hello, lapis")
	up, err := l.client.UploadBuffer(bg, "data", "greeting.txt", body, nil)
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(body)
	if !bytes.Equal(up.ContentMD5, sum[:]) {
		t.Fatalf("upload Content-MD5 %x, want %x", up.ContentMD5, sum)
	}
	sameBytes(t, "download", download(t, l.client, "data", "greeting.txt"), body)

	bc := l.client.ServiceClient().NewContainerClient("data").NewBlobClient("greeting.txt")
	props, err := bc.GetProperties(bg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *props.ContentLength != int64(len(body)) || *props.BlobType != blob.BlobTypeBlockBlob || !bytes.Equal(props.ContentMD5, sum[:]) ||
		*props.ContentType != "application/octet-stream" || *props.ETag != *up.ETag {
		t.Fatalf("properties %+v", props)
	}

	// A range.
	r, err := bc.DownloadStream(bg, &blob.DownloadStreamOptions{Range: blob.HTTPRange{Offset: 7, Count: 5}})
	if err != nil {
		t.Fatal(err)
	}
	got := readAll(t, r.Body)
	if string(got) != "lapis" || *r.ContentRange != fmt.Sprintf("bytes 7-11/%d", len(body)) {
		t.Fatalf("range: %q %s", got, *r.ContentRange)
	}
	// A range past the end.
	_, err = bc.DownloadStream(bg, &blob.DownloadStreamOptions{Range: blob.HTTPRange{Offset: 100, Count: 5}})
	wantCode(t, err, "InvalidRange", 416)

	// An empty blob: a ranged GET is 416, which the SDK reads as 0 bytes.
	if _, err := l.client.UploadBuffer(bg, "data", "empty", nil, nil); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 10)
	n, err := l.client.DownloadBuffer(bg, "data", "empty", buf, nil)
	if err != nil || n != 0 {
		t.Fatalf("download empty: %d %v", n, err)
	}
	eb := l.client.ServiceClient().NewContainerClient("data").NewBlobClient("empty")
	_, err = eb.DownloadStream(bg, &blob.DownloadStreamOptions{Range: blob.HTTPRange{Offset: 0, Count: 4}})
	wantCode(t, err, "InvalidRange", 416)
	if got := download(t, l.client, "data", "empty"); len(got) != 0 {
		t.Fatalf("empty blob gave %d bytes", len(got))
	}

	// Overwrite, delete, missing.
	if _, err := l.client.UploadBuffer(bg, "data", "greeting.txt", []byte("bye"), nil); err != nil {
		t.Fatal(err)
	}
	sameBytes(t, "overwritten", download(t, l.client, "data", "greeting.txt"), []byte("bye"))
	del, err := l.client.DeleteBlob(bg, "data", "greeting.txt", nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = del
	_, err = l.client.DownloadStream(bg, "data", "greeting.txt", nil)
	wantCode(t, err, "BlobNotFound", 404)
	_, err = l.client.DeleteBlob(bg, "data", "greeting.txt", nil)
	wantCode(t, err, "BlobNotFound", 404)
	_, err = l.client.UploadBuffer(bg, "nope", "x", []byte("x"), nil)
	wantCode(t, err, "ContainerNotFound", 404)
	_, err = l.client.DownloadStream(bg, "nope", "x", nil)
	wantCode(t, err, "ContainerNotFound", 404)

	// Names with slashes, spaces and unicode.
	for _, name := range []string{"dir/sub/file.bin", "with space & more?.txt", "ünïcødé/名前", strings.Repeat("n", 600)} {
		if _, err := l.client.UploadBuffer(bg, "data", name, []byte(name), nil); err != nil {
			t.Fatalf("upload %q: %v", name, err)
		}
		sameBytes(t, name, download(t, l.client, "data", name), []byte(name))
	}
}

func readAll(t *testing.T, r interface {
	Read([]byte) (int, error)
	Close() error
}) []byte {
	t.Helper()
	defer r.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(r); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestMultiBlockUploadsAndParallelDownloads(t *testing.T) {
	l := newLapis(t)
	l.mkContainer("big")
	data := randomBytes(3<<20+12345, 1)

	// UploadStream stages blocks (of at least 1 MiB) and commits them with
	// Put Block List.
	if _, err := l.client.UploadStream(bg, "big", "stream.bin", bytes.NewReader(data),
		&azblob.UploadStreamOptions{BlockSize: 1 << 20, Concurrency: 4}); err != nil {
		t.Fatal(err)
	}
	bbc := l.client.ServiceClient().NewContainerClient("big").NewBlockBlobClient("stream.bin")
	bl, err := bbc.GetBlockList(bg, blockblob.BlockListTypeAll, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(bl.CommittedBlocks) != 4 || len(bl.UncommittedBlocks) != 0 || *bl.BlobContentLength != int64(len(data)) {
		t.Fatalf("block list: %d committed, %d uncommitted, length %d", len(bl.CommittedBlocks), len(bl.UncommittedBlocks), *bl.BlobContentLength)
	}

	// Parallel ranged downloads into a buffer and a file.
	buf := make([]byte, len(data))
	n, err := l.client.DownloadBuffer(bg, "big", "stream.bin", buf, &azblob.DownloadBufferOptions{BlockSize: 100 << 10, Concurrency: 5})
	if err != nil || n != int64(len(data)) {
		t.Fatalf("download buffer: %d %v", n, err)
	}
	sameBytes(t, "DownloadBuffer", buf, data)

	// A file bigger than a segment, uploaded in one Put Blob, read in
	// ranges that cross segment boundaries.
	big := randomBytes(9<<20+7, 2)
	path := filepath.Join(t.TempDir(), "big.bin")
	if err := os.WriteFile(path, big, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := l.client.UploadFile(bg, "big", "file.bin", f, &azblob.UploadFileOptions{BlockSize: 1 << 20, Concurrency: 3}); err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(filepath.Join(t.TempDir(), "out.bin"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	n, err = l.client.DownloadFile(bg, "big", "file.bin", out, &azblob.DownloadFileOptions{BlockSize: 3<<20 + 17, Concurrency: 4})
	if err != nil || n != int64(len(big)) {
		t.Fatalf("download file: %d %v", n, err)
	}
	got, err := os.ReadFile(out.Name())
	if err != nil {
		t.Fatal(err)
	}
	sameBytes(t, "DownloadFile", got, big)

	// Stage and commit by hand: a later commit reuses a committed block.
	ids := []string{b64("block-a"), b64("block-b"), b64("block-c")}
	parts := [][]byte{[]byte("AAAA"), []byte("BBBB"), []byte("CCCC")}
	mb := l.client.ServiceClient().NewContainerClient("big").NewBlockBlobClient("manual")
	for i := 0; i < 2; i++ {
		if _, err := mb.StageBlock(bg, ids[i], nopCloser(parts[i]), nil); err != nil {
			t.Fatal(err)
		}
	}
	unc, err := mb.GetBlockList(bg, blockblob.BlockListTypeUncommitted, nil)
	if err != nil || len(unc.UncommittedBlocks) != 2 || *unc.UncommittedBlocks[0].Name != ids[0] {
		t.Fatalf("uncommitted: %+v %v", unc, err)
	}
	if _, err := mb.CommitBlockList(bg, []string{ids[1], ids[0]}, nil); err != nil {
		t.Fatal(err)
	}
	sameBytes(t, "commit 1", download(t, l.client, "big", "manual"), []byte("BBBBAAAA"))
	if _, err := mb.StageBlock(bg, ids[2], nopCloser(parts[2]), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := mb.CommitBlockList(bg, []string{ids[0], ids[2], ids[0]}, &blockblob.CommitBlockListOptions{
		HTTPHeaders: &blob.HTTPHeaders{BlobContentType: to.Ptr("text/plain")}}); err != nil {
		t.Fatal(err)
	}
	sameBytes(t, "commit 2", download(t, l.client, "big", "manual"), []byte("AAAACCCCAAAA"))
	bl, err = mb.GetBlockList(bg, blockblob.BlockListTypeCommitted, nil)
	if err != nil || len(bl.CommittedBlocks) != 3 {
		t.Fatalf("committed after reuse: %+v %v", bl, err)
	}
	// A Put Blob drops the blob's uncommitted blocks.
	if _, err := mb.StageBlock(bg, b64("block-d"), nopCloser([]byte("DDDD")), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := mb.UploadBuffer(bg, []byte("AAAACCCCAAAA"), nil); err != nil {
		t.Fatal(err)
	}
	unc, err = mb.GetBlockList(bg, blockblob.BlockListTypeAll, nil)
	if err != nil || len(unc.UncommittedBlocks) != 0 || len(unc.CommittedBlocks) != 0 {
		t.Fatalf("after Put Blob: %+v %v", unc, err)
	}
	// Unknown block ids are InvalidBlockList.
	_, err = mb.CommitBlockList(bg, []string{ids[1]}, nil)
	wantCode(t, err, "InvalidBlockList", 400)
	sameBytes(t, "after failed commit", download(t, l.client, "big", "manual"), []byte("AAAACCCCAAAA"))
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

type rsc struct{ *bytes.Reader }

func (rsc) Close() error { return nil }

func nopCloser(b []byte) rsc { return rsc{bytes.NewReader(b)} }

func TestListHierarchy(t *testing.T) {
	l := newLapis(t)
	l.mkContainer("tree")
	names := []string{"a/b/c.txt", "a/b/d.txt", "a/e.txt", "f.txt", "g/h.txt", "a-b.txt"}
	for _, n := range names {
		if _, err := l.client.UploadBuffer(bg, "tree", n, []byte(n), &azblob.UploadBufferOptions{Metadata: map[string]*string{"name": to.Ptr(n)}}); err != nil {
			t.Fatal(err)
		}
	}
	cc := l.client.ServiceClient().NewContainerClient("tree")
	list := func(prefix string, max int32) (blobs, prefixes []string) {
		t.Helper()
		p := cc.NewListBlobsHierarchyPager("/", &container.ListBlobsHierarchyOptions{Prefix: to.Ptr(prefix), MaxResults: to.Ptr(max)})
		for p.More() {
			page, err := p.NextPage(bg)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range page.Segment.BlobItems {
				blobs = append(blobs, *b.Name)
			}
			for _, bp := range page.Segment.BlobPrefixes {
				prefixes = append(prefixes, *bp.Name)
			}
		}
		return
	}
	blobs, prefixes := list("", 100)
	if !slices.Equal(blobs, []string{"a-b.txt", "f.txt"}) || !slices.Equal(prefixes, []string{"a/", "g/"}) {
		t.Fatalf("root: blobs %v prefixes %v", blobs, prefixes)
	}
	blobs, prefixes = list("a/", 1)
	if !slices.Equal(blobs, []string{"a/e.txt"}) || !slices.Equal(prefixes, []string{"a/b/"}) {
		t.Fatalf("a/: blobs %v prefixes %v", blobs, prefixes)
	}

	// Flat listing, paged two at a time, with metadata.
	var flat []string
	p := l.client.NewListBlobsFlatPager("tree", &azblob.ListBlobsFlatOptions{MaxResults: to.Ptr[int32](2),
		Include: azblob.ListBlobsInclude{Metadata: true}})
	for p.More() {
		page, err := p.NextPage(bg)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Segment.BlobItems) > 2 {
			t.Fatalf("page of %d", len(page.Segment.BlobItems))
		}
		for _, b := range page.Segment.BlobItems {
			flat = append(flat, *b.Name)
			if m := b.Metadata["name"]; m == nil || *m != *b.Name {
				t.Errorf("%s: metadata %v", *b.Name, b.Metadata)
			}
			if *b.Properties.ContentLength != int64(len(*b.Name)) || b.Properties.LastModified == nil || *b.Properties.BlobType != blob.BlobTypeBlockBlob {
				t.Errorf("%s: properties %+v", *b.Name, b.Properties)
			}
		}
	}
	want := slices.Clone(names)
	slices.Sort(want)
	if !slices.Equal(flat, want) {
		t.Fatalf("flat: %v, want %v", flat, want)
	}
}

func TestPropertiesAndMetadata(t *testing.T) {
	l := newLapis(t)
	l.mkContainer("props")
	if _, err := l.client.UploadBuffer(bg, "props", "doc.html", []byte("<p>hi</p>"), &azblob.UploadBufferOptions{
		HTTPHeaders: &blob.HTTPHeaders{BlobContentType: to.Ptr("text/html"), BlobContentEncoding: to.Ptr("identity"),
			BlobContentLanguage: to.Ptr("en"), BlobContentDisposition: to.Ptr("inline"), BlobCacheControl: to.Ptr("no-cache")},
		Metadata: map[string]*string{"author": to.Ptr("ada"), "Version": to.Ptr("1")},
	}); err != nil {
		t.Fatal(err)
	}
	bc := l.client.ServiceClient().NewContainerClient("props").NewBlobClient("doc.html")
	p, err := bc.GetProperties(bg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *p.ContentType != "text/html" || *p.ContentEncoding != "identity" || *p.ContentLanguage != "en" ||
		*p.ContentDisposition != "inline" || *p.CacheControl != "no-cache" {
		t.Fatalf("headers %+v", p)
	}
	if metaValue(p.Metadata, "author") != "ada" || metaValue(p.Metadata, "version") != "1" {
		t.Fatalf("metadata %v", p.Metadata)
	}
	md := md5.Sum([]byte("x"))
	if _, err := bc.SetHTTPHeaders(bg, blob.HTTPHeaders{BlobContentType: to.Ptr("text/plain"), BlobContentMD5: md[:]}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := bc.SetMetadata(bg, map[string]*string{"k": to.Ptr("v")}, nil); err != nil {
		t.Fatal(err)
	}
	p2, err := bc.GetProperties(bg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *p2.ContentType != "text/plain" || p2.ContentEncoding != nil || !bytes.Equal(p2.ContentMD5, md[:]) ||
		len(p2.Metadata) != 1 || metaValue(p2.Metadata, "k") != "v" || *p2.ETag == *p.ETag {
		t.Fatalf("after set: %+v metadata %v", p2, p2.Metadata)
	}
	// GET answers the same headers with the content.
	r, err := bc.DownloadStream(bg, nil)
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, r.Body)
	if *r.ContentType != "text/plain" || metaValue(r.Metadata, "k") != "v" {
		t.Fatalf("download headers %+v", r)
	}
	_, err = l.client.ServiceClient().NewContainerClient("props").NewBlobClient("missing").SetMetadata(bg, nil, nil)
	wantCode(t, err, "BlobNotFound", 404)
}

func metaValue(m map[string]*string, k string) string {
	for mk, v := range m {
		if strings.EqualFold(mk, k) && v != nil {
			return *v
		}
	}
	return ""
}

func TestConditionalRequests(t *testing.T) {
	l := newLapis(t)
	l.mkContainer("cond")
	up, err := l.client.UploadBuffer(bg, "cond", "b", []byte("v1"), nil)
	if err != nil {
		t.Fatal(err)
	}
	etag := *up.ETag
	other := azcore.ETag(`"0x1"`)
	bc := l.client.ServiceClient().NewContainerClient("cond").NewBlockBlobClient("b")

	access := func(m *blob.ModifiedAccessConditions) *blob.AccessConditions {
		return &blob.AccessConditions{ModifiedAccessConditions: m}
	}
	_, err = bc.UploadBuffer(bg, []byte("v2"), &blockblob.UploadBufferOptions{AccessConditions: access(&blob.ModifiedAccessConditions{IfMatch: &other})})
	wantCode(t, err, "ConditionNotMet", 412)
	_, err = bc.UploadBuffer(bg, []byte("v2"), &blockblob.UploadBufferOptions{AccessConditions: access(&blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny)})})
	wantCode(t, err, "BlobAlreadyExists", 409)
	_, err = bc.Upload(bg, nopCloser([]byte("v2")), &blockblob.UploadOptions{AccessConditions: access(&blob.ModifiedAccessConditions{IfUnmodifiedSince: to.Ptr(time.Now().Add(-time.Hour))})})
	wantCode(t, err, "ConditionNotMet", 412)

	// GET: If-None-Match with the current ETag and If-Modified-Since in the future are 304.
	// (The SDK turns a 304 into a response with ErrorCode set.)
	nm, err := bc.DownloadStream(bg, &blob.DownloadStreamOptions{AccessConditions: access(&blob.ModifiedAccessConditions{IfNoneMatch: &etag})})
	if err != nil || nm.ErrorCode == nil || *nm.ErrorCode != "ConditionNotMet" {
		t.Fatalf("If-None-Match GET: %v %v", err, nm.ErrorCode)
	}
	_, err = bc.GetProperties(bg, &blob.GetPropertiesOptions{AccessConditions: access(&blob.ModifiedAccessConditions{IfModifiedSince: to.Ptr(time.Now().Add(time.Hour))})})
	if _, s := code(err); s != http.StatusNotModified {
		t.Fatalf("If-Modified-Since HEAD: %v", err)
	}
	_, err = bc.DownloadStream(bg, &blob.DownloadStreamOptions{AccessConditions: access(&blob.ModifiedAccessConditions{IfMatch: &other})})
	wantCode(t, err, "ConditionNotMet", 412)
	r, err := bc.DownloadStream(bg, &blob.DownloadStreamOptions{AccessConditions: access(&blob.ModifiedAccessConditions{IfMatch: &etag,
		IfModifiedSince: to.Ptr(time.Now().Add(-time.Hour))})})
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, r.Body)

	// A write with the right ETag succeeds and changes it.
	up2, err := bc.UploadBuffer(bg, []byte("v2"), &blockblob.UploadBufferOptions{AccessConditions: access(&blob.ModifiedAccessConditions{IfMatch: &etag})})
	if err != nil {
		t.Fatal(err)
	}
	if *up2.ETag == etag {
		t.Fatal("ETag did not change")
	}
	_, err = bc.Delete(bg, &blob.DeleteOptions{AccessConditions: access(&blob.ModifiedAccessConditions{IfMatch: &etag})})
	wantCode(t, err, "ConditionNotMet", 412)
	_, err = bc.SetMetadata(bg, map[string]*string{"a": to.Ptr("b")}, &blob.SetMetadataOptions{AccessConditions: access(&blob.ModifiedAccessConditions{IfMatch: &etag})})
	wantCode(t, err, "ConditionNotMet", 412)
	if _, err := bc.Delete(bg, &blob.DeleteOptions{AccessConditions: access(&blob.ModifiedAccessConditions{IfMatch: up2.ETag})}); err != nil {
		t.Fatal(err)
	}
	// If-None-Match: * creates only when absent.
	if _, err := bc.UploadBuffer(bg, []byte("v3"), &blockblob.UploadBufferOptions{AccessConditions: access(&blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny)})}); err != nil {
		t.Fatal(err)
	}
}

func TestCopyBlob(t *testing.T) {
	l := newLapis(t)
	l.mkContainer("src")
	l.mkContainer("dst")
	data := randomBytes(5<<20+3, 3)
	if _, err := l.client.UploadBuffer(bg, "src", "orig", data, &azblob.UploadBufferOptions{
		HTTPHeaders: &blob.HTTPHeaders{BlobContentType: to.Ptr("application/x-test")},
		Metadata:    map[string]*string{"m": to.Ptr("1")}}); err != nil {
		t.Fatal(err)
	}
	srcURL := l.url + "/src/orig"
	dst := l.client.ServiceClient().NewContainerClient("dst").NewBlobClient("copy")
	resp, err := dst.StartCopyFromURL(bg, srcURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.CopyStatus == nil || *resp.CopyStatus != blob.CopyStatusTypeSuccess || resp.CopyID == nil {
		t.Fatalf("copy response %+v", resp)
	}
	sameBytes(t, "copy", download(t, l.client, "dst", "copy"), data)
	p, err := dst.GetProperties(bg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *p.ContentType != "application/x-test" || metaValue(p.Metadata, "m") != "1" || *p.CopyStatus != blob.CopyStatusTypeSuccess || *p.CopySource != srcURL {
		t.Fatalf("copy properties %+v", p)
	}
	// The synchronous form, and a missing source.
	if _, err := l.client.ServiceClient().NewContainerClient("dst").NewBlobClient("copy2").CopyFromURL(bg, srcURL, nil); err != nil {
		t.Fatal(err)
	}
	sameBytes(t, "copy2", download(t, l.client, "dst", "copy2"), data)
	_, err = dst.StartCopyFromURL(bg, l.url+"/src/missing", nil)
	wantCode(t, err, "CannotVerifyCopySource", 404)
	// Deleting the source leaves the copy whole.
	if _, err := l.client.DeleteBlob(bg, "src", "orig", nil); err != nil {
		t.Fatal(err)
	}
	sameBytes(t, "copy after source delete", download(t, l.client, "dst", "copy"), data)
}

func TestAppendBlob(t *testing.T) {
	l := newLapis(t)
	l.mkContainer("logs")
	ab := l.client.ServiceClient().NewContainerClient("logs").NewAppendBlobClient("app.log")
	if _, err := ab.Create(bg, nil); err != nil {
		t.Fatal(err)
	}
	var want []byte
	for i := 0; i < 3; i++ {
		line := []byte(fmt.Sprintf("line %d\n", i))
		r, err := ab.AppendBlock(bg, nopCloser(line), nil)
		if err != nil {
			t.Fatal(err)
		}
		if *r.BlobAppendOffset != fmt.Sprint(len(want)) || *r.BlobCommittedBlockCount != int32(i+1) {
			t.Fatalf("append %d: offset %s count %d", i, *r.BlobAppendOffset, *r.BlobCommittedBlockCount)
		}
		want = append(want, line...)
	}
	sameBytes(t, "append blob", download(t, l.client, "logs", "app.log"), want)
	_, err := ab.AppendBlock(bg, nopCloser([]byte("x")), &appendblob.AppendBlockOptions{
		AppendPositionAccessConditions: &appendblob.AppendPositionAccessConditions{AppendPosition: to.Ptr[int64](1)}})
	wantCode(t, err, "AppendPositionConditionNotMet", 412)
	p, err := ab.GetProperties(bg, nil)
	if err != nil || *p.BlobType != blob.BlobTypeAppendBlob || *p.BlobCommittedBlockCount != 3 {
		t.Fatalf("append properties %+v %v", p, err)
	}
	// Appending to a block blob is InvalidBlobType.
	if _, err := l.client.UploadBuffer(bg, "logs", "block", []byte("b"), nil); err != nil {
		t.Fatal(err)
	}
	_, err = l.client.ServiceClient().NewContainerClient("logs").NewAppendBlobClient("block").AppendBlock(bg, nopCloser([]byte("x")), nil)
	wantCode(t, err, "InvalidBlobType", 409)
}

func TestPublicContainerAndAnonymousAccess(t *testing.T) {
	l := newLapis(t)
	if _, err := l.client.CreateContainer(bg, "pubblob", &azblob.CreateContainerOptions{Access: to.Ptr(azblob.PublicAccessTypeBlob)}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.client.CreateContainer(bg, "pubcont", &azblob.CreateContainerOptions{Access: to.Ptr(azblob.PublicAccessTypeContainer)}); err != nil {
		t.Fatal(err)
	}
	l.mkContainer("private")
	for _, c := range []string{"pubblob", "pubcont", "private"} {
		if _, err := l.client.UploadBuffer(bg, c, "f.txt", []byte(c), nil); err != nil {
			t.Fatal(err)
		}
	}
	anon, err := azblob.NewClientWithNoCredential(l.url, clientOpts)
	if err != nil {
		t.Fatal(err)
	}
	sameBytes(t, "anonymous read of a public blob", download(t, anon, "pubblob", "f.txt"), []byte("pubblob"))
	sameBytes(t, "anonymous read of a public container's blob", download(t, anon, "pubcont", "f.txt"), []byte("pubcont"))
	// What is not public looks missing to anonymous readers, as in Azure.
	_, err = anon.DownloadStream(bg, "private", "f.txt", nil)
	wantCode(t, err, "ResourceNotFound", 404)

	listable := func(c string) error {
		p := anon.NewListBlobsFlatPager(c, nil)
		_, err := p.NextPage(bg)
		return err
	}
	if err := listable("pubcont"); err != nil {
		t.Fatalf("list public container: %v", err)
	}
	wantCode(t, listable("pubblob"), "ResourceNotFound", 404)
	_, err = anon.UploadBuffer(bg, "pubcont", "w.txt", []byte("x"), nil)
	wantCode(t, err, "NoAuthenticationInformation", 401)
	_, err = anon.DeleteBlob(bg, "pubcont", "f.txt", nil)
	wantCode(t, err, "NoAuthenticationInformation", 401)
}

func TestSAS(t *testing.T) {
	l := newLapis(t)
	l.mkContainer("sas")
	if _, err := l.client.UploadBuffer(bg, "sas", "f.txt", []byte("secret"), nil); err != nil {
		t.Fatal(err)
	}
	serviceSAS := func(perms sas.BlobPermissions, expiry time.Time) string {
		t.Helper()
		q, err := sas.BlobSignatureValues{Protocol: sas.ProtocolHTTPSandHTTP, ExpiryTime: expiry, ContainerName: "sas",
			Permissions: perms.String()}.SignWithSharedKey(l.cred)
		if err != nil {
			t.Fatal(err)
		}
		return l.url + "/sas?" + q.Encode()
	}
	client := func(containerURL string) *container.Client {
		c, err := container.NewClientWithNoCredential(containerURL, &container.ClientOptions{ClientOptions: clientOpts.ClientOptions})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	// A read-and-list service SAS on the container.
	ro := client(serviceSAS(sas.BlobPermissions{Read: true, List: true}, time.Now().Add(time.Hour)))
	r, err := ro.NewBlobClient("f.txt").DownloadStream(bg, nil)
	if err != nil {
		t.Fatal(err)
	}
	sameBytes(t, "SAS read", readAll(t, r.Body), []byte("secret"))
	if _, err := ro.NewListBlobsFlatPager(nil).NextPage(bg); err != nil {
		t.Fatal(err)
	}
	_, err = ro.NewBlockBlobClient("new.txt").UploadBuffer(bg, []byte("x"), nil)
	wantCode(t, err, "AuthorizationPermissionMismatch", 403)
	_, err = ro.NewBlobClient("f.txt").Delete(bg, nil)
	wantCode(t, err, "AuthorizationPermissionMismatch", 403)

	// Expired.
	old := client(serviceSAS(sas.BlobPermissions{Read: true}, time.Now().Add(-time.Hour)))
	_, err = old.NewBlobClient("f.txt").DownloadStream(bg, nil)
	wantCode(t, err, "AuthenticationFailed", 403)

	// A write SAS creates blobs.
	rw := client(serviceSAS(sas.BlobPermissions{Read: true, Write: true, Create: true}, time.Now().Add(time.Hour)))
	if _, err := rw.NewBlockBlobClient("new.txt").UploadBuffer(bg, []byte("via sas"), nil); err != nil {
		t.Fatal(err)
	}
	sameBytes(t, "SAS write", download(t, l.client, "sas", "new.txt"), []byte("via sas"))

	// An account SAS for the service: list containers, but not object writes
	// when the resource types leave objects out.
	aq, err := sas.AccountSignatureValues{Protocol: sas.ProtocolHTTPSandHTTP, ExpiryTime: time.Now().Add(time.Hour),
		Permissions: to.Ptr(sas.AccountPermissions{Read: true, List: true, Write: true}).String(), ResourceTypes: to.Ptr(sas.AccountResourceTypes{Service: true, Container: true}).String()}.SignWithSharedKey(l.cred)
	if err != nil {
		t.Fatal(err)
	}
	ac, err := azblob.NewClientWithNoCredential(l.url+"?"+aq.Encode(), clientOpts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ac.NewListContainersPager(nil).NextPage(bg); err != nil {
		t.Fatal(err)
	}
	_, err = ac.UploadBuffer(bg, "sas", "acct.txt", []byte("x"), nil)
	wantCode(t, err, "AuthorizationResourceTypeMismatch", 403)

	// A wrong key is AuthenticationFailed.
	badCred, _ := azblob.NewSharedKeyCredential("devstoreaccount1", base64.StdEncoding.EncodeToString([]byte("wrong key wrong key wrong key!!")))
	bad, err := azblob.NewClientWithSharedKeyCredential(l.url, badCred, clientOpts)
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.DownloadStream(bg, "sas", "f.txt", nil)
	wantCode(t, err, "AuthenticationFailed", 403)

	// Copy from a private container in the same account with a SAS source.
	l.mkContainer("dest")
	src := serviceSAS(sas.BlobPermissions{Read: true}, time.Now().Add(time.Hour))
	srcURL := strings.Replace(src, "/sas?", "/sas/f.txt?", 1)
	if _, err := rw.NewBlobClient("copied.txt").StartCopyFromURL(bg, srcURL, nil); err != nil {
		t.Fatal(err)
	}
	sameBytes(t, "copy with SAS source", download(t, l.client, "sas", "copied.txt"), []byte("secret"))
}

func TestBadInputs(t *testing.T) {
	l := newLapis(t)
	l.mkContainer("bad")
	// Raw requests, for what the SDK never sends wrong, authorized by an
	// account SAS.
	aq, err := sas.AccountSignatureValues{Protocol: sas.ProtocolHTTPSandHTTP, ExpiryTime: time.Now().Add(time.Hour),
		Permissions:   to.Ptr(sas.AccountPermissions{Read: true, Write: true, Create: true, List: true, Delete: true}).String(),
		ResourceTypes: to.Ptr(sas.AccountResourceTypes{Service: true, Container: true, Object: true}).String()}.SignWithSharedKey(l.cred)
	if err != nil {
		t.Fatal(err)
	}
	q := "?" + aq.Encode()
	blobURL := l.url + "/bad/b"

	status, c := rawDo(t, http.MethodPut, blobURL+q, []byte("x"), nil)
	if status != 400 || c != "MissingRequiredHeader" {
		t.Fatalf("Put Blob without x-ms-blob-type: %d %s", status, c)
	}
	status, c = rawDo(t, http.MethodPut, blobURL+q+"&comp=block&blockid="+b64("one"), []byte("data"), nil)
	if status != 201 {
		t.Fatalf("put block: %d %s", status, c)
	}
	for _, body := range []string{"<BlockList><Latest>" + b64("one"), "not xml", "<Other/>", "<BlockList><Bogus>x</Bogus></BlockList>"} {
		status, c = rawDo(t, http.MethodPut, blobURL+q+"&comp=blocklist", []byte(body), nil)
		if status != 400 || c != "InvalidXmlDocument" {
			t.Fatalf("Put Block List with %q: %d %s", body, status, c)
		}
	}
	status, c = rawDo(t, http.MethodPut, blobURL+q+"&comp=blocklist", []byte("<BlockList><Uncommitted>"+b64("two")+"</Uncommitted></BlockList>"), nil)
	if status != 400 || c != "InvalidBlockList" {
		t.Fatalf("unknown block: %d %s", status, c)
	}
	status, c = rawDo(t, http.MethodPut, blobURL+q+"&comp=blocklist", []byte("<BlockList><Committed>"+b64("one")+"</Committed></BlockList>"), nil)
	if status != 400 || c != "InvalidBlockList" {
		t.Fatalf("uncommitted block listed as committed: %d %s", status, c)
	}
	status, c = rawDo(t, http.MethodPut, blobURL+q+"&comp=blocklist", []byte(`<?xml version="1.0" encoding="utf-8"?><BlockList><Uncommitted>`+b64("one")+"</Uncommitted></BlockList>"), nil)
	if status != 201 {
		t.Fatalf("valid block list: %d %s", status, c)
	}
	status, c = rawDo(t, http.MethodPut, blobURL+q+"&comp=blocklist", []byte("<BlockList><Committed>"+b64("one")+"</Committed></BlockList>"), nil)
	if status != 201 {
		t.Fatalf("recommit committed block: %d %s", status, c)
	}
	sameBytes(t, "raw block blob", download(t, l.client, "bad", "b"), []byte("data"))
	status, c = rawDo(t, http.MethodPut, blobURL+q+"&comp=block&blockid=not*base64", []byte("x"), nil)
	if status != 400 || c != "InvalidQueryParameterValue" {
		t.Fatalf("bad block id: %d %s", status, c)
	}
	status, c = rawDo(t, http.MethodPut, blobURL+q, []byte("x"), map[string]string{"x-ms-blob-type": "BlockBlob", "Content-MD5": base64.StdEncoding.EncodeToString(make([]byte, 16))})
	if status != 400 || c != "Md5Mismatch" {
		t.Fatalf("bad md5: %d %s", status, c)
	}
	status, c = rawDo(t, http.MethodPut, l.url+"/Bad_Name"+q+"&restype=container", nil, nil)
	if status != 400 || c != "InvalidResourceName" {
		t.Fatalf("bad container name: %d %s", status, c)
	}
	status, c = rawDo(t, http.MethodPut, blobURL+q, nil, map[string]string{"x-ms-blob-type": "BlockBlob", "x-ms-meta-1bad": "x"})
	if status != 400 || c != "InvalidMetadata" {
		t.Fatalf("bad metadata name: %d %s", status, c)
	}

	// Through the SDK: unknown block ids and a block id of the wrong form.
	bb := l.client.ServiceClient().NewContainerClient("bad").NewBlockBlobClient("sdk")
	_, err = bb.CommitBlockList(bg, []string{b64("never-staged")}, nil)
	wantCode(t, err, "InvalidBlockList", 400)
}

func TestEventsOncePerSuccessfulWrite(t *testing.T) {
	l := newLapis(t)
	l.mkContainer("events")
	ctx := bg
	if _, err := l.client.UploadBuffer(ctx, "events", "one.txt", []byte("1"), &azblob.UploadBufferOptions{
		HTTPHeaders: &blob.HTTPHeaders{BlobContentType: to.Ptr("text/plain")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.client.UploadStream(ctx, "events", "two.bin", bytes.NewReader(randomBytes(2<<20+3000, 4)), &azblob.UploadStreamOptions{BlockSize: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.client.ServiceClient().NewContainerClient("events").NewBlobClient("three.txt").StartCopyFromURL(ctx, l.url+"/events/one.txt", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := l.client.DeleteBlob(ctx, "events", "one.txt", nil); err != nil {
		t.Fatal(err)
	}
	// Failed writes and non-content changes raise nothing.
	_, err := l.client.DeleteBlob(ctx, "events", "one.txt", nil)
	wantCode(t, err, "BlobNotFound", 404)
	_, err = l.client.UploadBuffer(ctx, "events", "two.bin", []byte("x"), &azblob.UploadBufferOptions{AccessConditions: &blob.AccessConditions{
		ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny)}}})
	wantCode(t, err, "BlobAlreadyExists", 409)
	_, err = l.client.ServiceClient().NewContainerClient("events").NewBlockBlobClient("four").CommitBlockList(ctx, []string{b64("x")}, nil)
	wantCode(t, err, "InvalidBlockList", 400)
	if _, err := l.client.ServiceClient().NewContainerClient("events").NewBlobClient("two.bin").SetMetadata(ctx, map[string]*string{"a": to.Ptr("b")}, nil); err != nil {
		t.Fatal(err)
	}

	evs := l.events()
	type want struct{ typ, api, blob string }
	wants := []want{
		{"Microsoft.Storage.BlobCreated", "PutBlob", "one.txt"},
		{"Microsoft.Storage.BlobCreated", "PutBlockList", "two.bin"},
		{"Microsoft.Storage.BlobCreated", "CopyBlob", "three.txt"},
		{"Microsoft.Storage.BlobDeleted", "DeleteBlob", "one.txt"},
	}
	if len(evs) != len(wants) {
		t.Fatalf("got %d events, want %d: %+v", len(evs), len(wants), evs)
	}
	topic := "/subscriptions/" + testSub + "/resourceGroups/lapis/providers/Microsoft.Storage/storageAccounts/devstoreaccount1"
	seqs := map[string]string{}
	for i, w := range wants {
		e := evs[i]
		if e.EventType != w.typ || e.Data["api"] != w.api || e.Subject != "/blobServices/default/containers/events/blobs/"+w.blob ||
			e.Topic != topic || e.ID == "" || e.EventTime.IsZero() || e.MetaVersion != "1" || e.DataVersion == nil {
			t.Errorf("event %d: %+v", i, e)
		}
		d := e.Data
		if d["url"] != "http://127.0.0.1:10000/devstoreaccount1/events/"+w.blob || d["blobType"] != "BlockBlob" || d["requestId"] == "" ||
			d["clientRequestId"] == nil || len(d["sequencer"].(string)) != 32 {
			t.Errorf("event %d data: %v", i, d)
		}
		if diag, _ := d["storageDiagnostics"].(map[string]any); diag == nil || diag["batchId"] == "" {
			t.Errorf("event %d: no storageDiagnostics.batchId: %v", i, d)
		}
		_, hasETag := d["eTag"]
		_, hasLen := d["contentLength"]
		if created := w.typ == "Microsoft.Storage.BlobCreated"; hasETag != created || hasLen != created {
			t.Errorf("event %d: eTag/contentLength presence wrong: %v", i, d)
		}
		if prev, ok := seqs[w.blob]; ok && prev >= d["sequencer"].(string) {
			t.Errorf("sequencer of %s went from %s to %s", w.blob, prev, d["sequencer"])
		}
		seqs[w.blob] = d["sequencer"].(string)
	}
	if evs[0].Data["contentType"] != "text/plain" || evs[0].Data["contentLength"] != float64(1) {
		t.Errorf("PutBlob data %v", evs[0].Data)
	}
	if evs[1].Data["contentLength"] != float64(2<<20+3000) {
		t.Errorf("PutBlockList data %v", evs[1].Data)
	}
}

func TestRestartKeepsBlobs(t *testing.T) {
	dir := t.TempDir()
	l := startLapis(t, dir)
	l.mkContainer("keep")
	small := []byte("small")
	big := randomBytes(6<<20, 5)
	if _, err := l.client.UploadBuffer(bg, "keep", "small", small, &azblob.UploadBufferOptions{Metadata: map[string]*string{"a": to.Ptr("1")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.client.UploadStream(bg, "keep", "big", bytes.NewReader(big), &azblob.UploadStreamOptions{BlockSize: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	staged := l.client.ServiceClient().NewContainerClient("keep").NewBlockBlobClient("staged")
	if _, err := staged.StageBlock(bg, b64("s1"), nopCloser([]byte("later")), nil); err != nil {
		t.Fatal(err)
	}
	l.stop()

	l2 := startLapis(t, dir)
	sameBytes(t, "small after restart", download(t, l2.client, "keep", "small"), small)
	sameBytes(t, "big after restart", download(t, l2.client, "keep", "big"), big)
	p, err := l2.client.ServiceClient().NewContainerClient("keep").NewBlobClient("small").GetProperties(bg, nil)
	if err != nil || metaValue(p.Metadata, "a") != "1" {
		t.Fatalf("metadata after restart: %v %v", p.Metadata, err)
	}
	staged2 := l2.client.ServiceClient().NewContainerClient("keep").NewBlockBlobClient("staged")
	if _, err := staged2.CommitBlockList(bg, []string{b64("s1")}, nil); err != nil {
		t.Fatal(err)
	}
	sameBytes(t, "block staged before restart", download(t, l2.client, "keep", "staged"), []byte("later"))
}

func TestDeleteContainerDropsBlobs(t *testing.T) {
	l := newLapis(t)
	l.mkContainer("gone")
	if _, err := l.client.UploadBuffer(bg, "gone", "x", randomBytes(100<<10, 6), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := l.client.DeleteContainer(bg, "gone", nil); err != nil {
		t.Fatal(err)
	}
	l.mkContainer("gone")
	p := l.client.NewListBlobsFlatPager("gone", nil)
	page, err := p.NextPage(bg)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Segment.BlobItems) != 0 {
		t.Fatalf("recreated container has %d blobs", len(page.Segment.BlobItems))
	}
}

// TestFromURL stages blocks from another blob (Put Block From URL, whole
// and by range) and creates a blob from one (Put Blob From URL), as the
// SDK's StageBlockFromURL and UploadBlobFromURL do; a source elsewhere is
// refused rather than mistaken for a local blob.
func TestFromURL(t *testing.T) {
	l := newLapis(t)
	l.mkContainer("src")
	data := randomBytes(3<<20+11, 9)
	if _, err := l.client.UploadBuffer(bg, "src", "orig", data, nil); err != nil {
		t.Fatal(err)
	}
	srcURL := l.url + "/src/orig"
	bb := l.client.ServiceClient().NewContainerClient("src").NewBlockBlobClient("assembled")
	ids := []string{base64.StdEncoding.EncodeToString([]byte("block-1")), base64.StdEncoding.EncodeToString([]byte("block-2"))}
	if _, err := bb.StageBlockFromURL(bg, ids[0], srcURL, &blockblob.StageBlockFromURLOptions{
		Range: blob.HTTPRange{Offset: 1 << 20, Count: 1000}}); err != nil {
		t.Fatalf("stage block from URL (range): %v", err)
	}
	if _, err := bb.StageBlockFromURL(bg, ids[1], srcURL, nil); err != nil {
		t.Fatalf("stage block from URL (whole): %v", err)
	}
	if _, err := bb.CommitBlockList(bg, ids, nil); err != nil {
		t.Fatal(err)
	}
	want := append(append([]byte{}, data[1<<20:1<<20+1000]...), data...)
	sameBytes(t, "assembled", download(t, l.client, "src", "assembled"), want)

	whole := l.client.ServiceClient().NewContainerClient("src").NewBlockBlobClient("fromurl")
	if _, err := whole.UploadBlobFromURL(bg, srcURL, nil); err != nil {
		t.Fatalf("upload blob from URL: %v", err)
	}
	sameBytes(t, "fromurl", download(t, l.client, "src", "fromurl"), data)

	_, err := whole.UploadBlobFromURL(bg, "http://example.com:1/devstoreaccount1/src/orig", nil)
	wantCode(t, err, "CannotVerifyCopySource", 400)
}

func TestDeleteSnapshotsOnlyKeepsTheBlob(t *testing.T) {
	l := newLapis(t)
	l.mkContainer("snaps")
	if _, err := l.client.UploadBuffer(bg, "snaps", "b", []byte("keep"), nil); err != nil {
		t.Fatal(err)
	}
	bc := l.client.ServiceClient().NewContainerClient("snaps").NewBlobClient("b")
	if _, err := bc.Delete(bg, &blob.DeleteOptions{DeleteSnapshots: to.Ptr(blob.DeleteSnapshotsOptionTypeOnly)}); err != nil {
		t.Fatalf("delete snapshots only: %v", err)
	}
	sameBytes(t, "after deleting snapshots only", download(t, l.client, "snaps", "b"), []byte("keep"))
}
