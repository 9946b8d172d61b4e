package blob

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lapisdev/lapis/internal/storage/wire"
	"github.com/lapisdev/lapis/internal/substrate"
)

// Sizes of the content layout (see doc.go).
const (
	// segmentSize is the largest object a block or a Put Blob body is cut
	// into; a ranged read discards at most this much of its first segment.
	segmentSize = 4 << 20
	// chunkSize is the object store's chunk (one JetStream message).
	chunkSize = 1 << 20
	// inlineMax is the largest Put Blob body kept inside the blob's record
	// instead of the object store.
	inlineMax = 64 << 10
	// casTries bounds the retries of a compare-and-set on a record.
	casTries = 20
)

// segment is a run of content: inline bytes or one object-store object.
type segment struct {
	Obj  string `json:"o,omitempty"`
	Data []byte `json:"d,omitempty"`
	Size int64  `json:"n"`
}

// block is a committed or uncommitted block: its id (base64, as the client
// sent it) and its segments. A Put Blob body is one block with an empty id,
// which Get Block List does not show.
type block struct {
	ID   string    `json:"id,omitempty"`
	Size int64     `json:"n"`
	Segs []segment `json:"s"`
}

// httpHeaders are the blob's stored HTTP headers.
type httpHeaders struct {
	ContentType        string `json:"ct,omitempty"`
	ContentEncoding    string `json:"ce,omitempty"`
	ContentLanguage    string `json:"cl,omitempty"`
	ContentDisposition string `json:"cd,omitempty"`
	CacheControl       string `json:"cc,omitempty"`
	ContentMD5         []byte `json:"md5,omitempty"`
}

// copyInfo records the blob's last Copy Blob.
type copyInfo struct {
	ID        string    `json:"id"`
	Source    string    `json:"src"`
	Status    string    `json:"status"`
	Progress  string    `json:"progress"`
	Completed time.Time `json:"done"`
}

// blobRecord is a blob's properties, metadata and manifest.
type blobRecord struct {
	Name     string            `json:"name"`
	Type     string            `json:"type"` // BlockBlob or AppendBlob
	Created  time.Time         `json:"created"`
	Modified time.Time         `json:"modified"`
	ETag     string            `json:"etag"`
	Size     int64             `json:"size"`
	Headers  httpHeaders       `json:"headers"`
	Metadata map[string]string `json:"meta,omitempty"`
	Blocks   []block           `json:"blocks"`
	Copy     *copyInfo         `json:"copy,omitempty"`
}

// containerRecord is a container's properties.
type containerRecord struct {
	Name        string            `json:"name"`
	Created     time.Time         `json:"created"`
	Modified    time.Time         `json:"modified"`
	ETag        string            `json:"etag"`
	Metadata    map[string]string `json:"meta,omitempty"`
	Public      string            `json:"public,omitempty"` // "", "blob" or "container"
	Identifiers []signedID        `json:"ids,omitempty"`
}

// objects lists the object-store objects a list of blocks refers to.
func objects(blocks []block) map[string]bool {
	m := map[string]bool{}
	for _, b := range blocks {
		for _, s := range b.Segs {
			if s.Obj != "" {
				m[s.Obj] = true
			}
		}
	}
	return m
}

// Key layout in the "meta" bucket (every part passes through keyToken):
//
//	c.{account}.{container}                        container record
//	b.{account}.{container}.{blob}                 blob record
//	u.{account}.{container}.{blob}.{blockid}       uncommitted block
//	s.{account}.{container}.{blob}                 the blob may have uncommitted blocks
//	p.{account}                                    service properties (XML)

// keyToken makes a KV key token; names too long for a subject are hashed
// ("=H" + hex, which Token never produces), and then the record holds the name.
func keyToken(s string) string {
	t := substrate.Token(s)
	if len(t) > 400 {
		h := sha256.Sum256([]byte(s))
		return "=H" + hex.EncodeToString(h[:])
	}
	return t
}

func containerKey(acct, c string) string { return "c." + keyToken(acct) + "." + keyToken(c) }
func containerKeys(acct string) string   { return "c." + keyToken(acct) + ".*" }
func blobKey(acct, c, b string) string {
	return "b." + keyToken(acct) + "." + keyToken(c) + "." + keyToken(b)
}
func blobKeys(acct, c string) string { return "b." + keyToken(acct) + "." + keyToken(c) + ".*" }
func uncommittedKey(acct, c, b, id string) string {
	return "u." + keyToken(acct) + "." + keyToken(c) + "." + keyToken(b) + "." + keyToken(id)
}
func uncommittedKeys(acct, c, b string) string {
	return "u." + keyToken(acct) + "." + keyToken(c) + "." + keyToken(b) + ".*"
}
func allUncommittedKeys(acct, c string) string {
	return "u." + keyToken(acct) + "." + keyToken(c) + ".>"
}
func propsKey(acct string) string { return "p." + keyToken(acct) }

// stagingKey marks a blob that may have uncommitted blocks, so that a Put
// Blob or Delete Blob need not list keys to find out.
func stagingKey(acct, c, b string) string {
	return "s." + keyToken(acct) + "." + keyToken(c) + "." + keyToken(b)
}
func allStagingKeys(acct, c string) string { return "s." + keyToken(acct) + "." + keyToken(c) + ".*" }

// lastToken returns the name in a key's last token, or ok false when it is
// hashed and the record must be read for it.
func lastToken(key string) (string, bool) {
	t := key[strings.LastIndexByte(key, '.')+1:]
	if strings.HasPrefix(t, "=H") {
		return "", false
	}
	s, err := substrate.ParseToken(t)
	return s, err == nil
}

// store is the blob service's state in JetStream.
type store struct {
	kv   jetstream.KeyValue
	objs jetstream.ObjectStore
	log  *slog.Logger
}

var errConflict = errors.New("blob: concurrent update")

func isConflict(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
		return true
	}
	return errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, errConflict)
}

// get reads a JSON record; a missing key gives ok false.
func (st *store) get(ctx context.Context, key string, v any) (rev uint64, ok bool, err error) {
	e, err := st.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("blob: read %s: %w", key, err)
	}
	if err := json.Unmarshal(e.Value(), v); err != nil {
		return 0, false, fmt.Errorf("blob: decode %s: %w", key, err)
	}
	return e.Revision(), true, nil
}

// put writes a record with a compare-and-set: rev 0 means the key must not
// exist. It returns the new revision.
func (st *store) put(ctx context.Context, key string, v any, rev uint64) (uint64, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return 0, err
	}
	if rev == 0 {
		return st.kv.Create(ctx, key, b)
	}
	return st.kv.Update(ctx, key, b, rev)
}

// del deletes a key, only at revision rev when rev > 0.
func (st *store) del(ctx context.Context, key string, rev uint64) error {
	if rev > 0 {
		return st.kv.Delete(ctx, key, jetstream.LastRevision(rev))
	}
	return st.kv.Delete(ctx, key)
}

// keys lists the keys matching filter (nil when there are none).
func (st *store) keys(ctx context.Context, filter string) ([]string, error) {
	l, err := st.kv.ListKeysFiltered(ctx, filter)
	if err != nil {
		if errors.Is(err, jetstream.ErrNoKeysFound) {
			return nil, nil
		}
		return nil, err
	}
	defer l.Stop()
	var out []string
	for k := range l.Keys() {
		out = append(out, k)
	}
	return out, nil
}

// writeSegments stores r as segments of at most segmentSize, hashing it
// into h if set. Small content (at most inline bytes) is kept inline.
func (st *store) writeSegments(ctx context.Context, r io.Reader, inline int64, hashers ...io.Writer) ([]segment, int64, error) {
	if len(hashers) > 0 {
		r = io.TeeReader(r, io.MultiWriter(hashers...))
	}
	br := bufio.NewReaderSize(r, 64<<10)
	if inline > 0 {
		buf, err := io.ReadAll(io.LimitReader(br, inline+1))
		if err != nil {
			return nil, 0, bodyError(err)
		}
		if int64(len(buf)) <= inline {
			if len(buf) == 0 {
				return nil, 0, nil
			}
			return []segment{{Data: buf, Size: int64(len(buf))}}, int64(len(buf)), nil
		}
		return st.writeObjects(ctx, io.MultiReader(strings.NewReader(string(buf)), br))
	}
	return st.writeObjects(ctx, br)
}

func (st *store) writeObjects(ctx context.Context, r io.Reader) ([]segment, int64, error) {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 64<<10)
	}
	var segs []segment
	var total int64
	for {
		if _, err := br.Peek(1); err != nil {
			if err == io.EOF {
				return segs, total, nil
			}
			st.deleteObjects(segs)
			return nil, 0, bodyError(err)
		}
		name := uuid.NewString()
		lr := &errReader{r: io.LimitReader(br, segmentSize)}
		info, err := st.objs.Put(ctx, jetstream.ObjectMeta{Name: name, Opts: &jetstream.ObjectMetaOptions{ChunkSize: chunkSize}}, lr)
		if err != nil {
			st.deleteObjects(segs)
			if lr.err != nil {
				return nil, 0, bodyError(lr.err)
			}
			return nil, 0, fmt.Errorf("blob: store content: %w", err)
		}
		segs = append(segs, segment{Obj: name, Size: int64(info.Size)})
		total += int64(info.Size)
	}
}

// errReader remembers the reader's error, to tell a client's broken body
// from a storage failure.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

// bodyError reports a request body that could not be read.
func bodyError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return wire.Errorf(http.StatusRequestEntityTooLarge, "RequestBodyTooLarge", "The request body is too large and exceeds the maximum permissible limit.")
	}
	return wire.Errorf(http.StatusBadRequest, "InvalidInput", "The request body could not be read: %v.", err)
}

// deleteObjects removes objects no record refers to any more. Failures are
// logged: the object is then an orphan that takes space but no name.
func (st *store) deleteObjects(segs []segment) {
	for _, s := range segs {
		if s.Obj != "" {
			st.deleteObject(s.Obj)
		}
	}
}

func (st *store) deleteObject(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := st.objs.Delete(ctx, name); err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
		st.log.Warn("blob: could not delete content object", "object", name, "err", err)
	}
}

// release deletes the objects of old that keep are not using.
func (st *store) release(old []block, keep []block) {
	k := objects(keep)
	for o := range objects(old) {
		if !k[o] {
			st.deleteObject(o)
		}
	}
}

// segmentsOf flattens the blocks' segments.
func segmentsOf(blocks []block) []segment {
	var out []segment
	for _, b := range blocks {
		out = append(out, b.Segs...)
	}
	return out
}

// copyRange writes n bytes of the content, starting at off, to w.
func (st *store) copyRange(ctx context.Context, w io.Writer, segs []segment, off, n int64) error {
	for _, s := range segs {
		if n <= 0 {
			return nil
		}
		if off >= s.Size {
			off -= s.Size
			continue
		}
		take := min(s.Size-off, n)
		if s.Obj == "" {
			if _, err := w.Write(s.Data[off : off+take]); err != nil {
				return err
			}
		} else if err := st.copyObject(ctx, w, s.Obj, off, take); err != nil {
			return err
		}
		n -= take
		off = 0
	}
	if n > 0 {
		return fmt.Errorf("blob: content shorter than its manifest")
	}
	return nil
}

func (st *store) copyObject(ctx context.Context, w io.Writer, name string, off, n int64) error {
	obj, err := st.objs.Get(ctx, name)
	if err != nil {
		return fmt.Errorf("blob: read content %s: %w", name, err)
	}
	defer obj.Close()
	if off > 0 {
		if _, err := io.CopyN(io.Discard, obj, off); err != nil {
			return fmt.Errorf("blob: read content %s: %w", name, err)
		}
	}
	_, err = io.CopyN(w, obj, n)
	return err
}

// rangeReader streams a range of content through a pipe.
func (st *store) rangeReader(ctx context.Context, segs []segment, off, n int64) io.ReadCloser {
	pr, pw := io.Pipe()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		pw.CloseWithError(st.copyRange(ctx, pw, segs, off, n))
	}()
	return &waitCloser{ReadCloser: pr, wg: &wg}
}

type waitCloser struct {
	io.ReadCloser
	wg *sync.WaitGroup
}

func (w *waitCloser) Close() error {
	err := w.ReadCloser.Close()
	w.wg.Wait()
	return err
}
