package blob

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lapisdev/lapis/internal/storage/wire"
)

var zeroTime time.Time

var errInvalidBlockList = &wire.Error{Status: http.StatusBadRequest, Code: "InvalidBlockList", Message: "The specified block list is invalid."}

func (s *Service) putBlock(rq *req) error {
	if err := s.authorize(rq, "cw", rq.blobRes()); err != nil {
		return err
	}
	id := rq.query("blockid")
	if !validBlockID(id) {
		return wire.Errorf(http.StatusBadRequest, "InvalidQueryParameterValue",
			"Value for one of the query parameters specified in the request URI is invalid: blockid must be base64 of at most 64 bytes.").
			With("QueryParameterName", "blockid").With("QueryParameterValue", id)
	}
	if _, _, err := s.getContainer(rq); err != nil {
		return err
	}
	body, n, err := s.blockSource(rq)
	if err != nil {
		return err
	}
	defer body.Close()
	if n > maxBlockSize {
		return wire.Errorf(http.StatusRequestEntityTooLarge, "RequestBodyTooLarge", "A block may be at most %d bytes.", maxBlockSize)
	}
	wantMD5, err := requestMD5(rq.r.Header)
	if err != nil {
		return err
	}
	h := md5.New()
	segs, size, err := s.st.writeSegments(rq.ctx, body, 0, h)
	if err != nil {
		return err
	}
	sum := h.Sum(nil)
	if wantMD5 != nil && !bytes.Equal(wantMD5, sum) {
		s.st.deleteObjects(segs)
		return md5Mismatch(wantMD5, sum)
	}
	key := uncommittedKey(rq.acct, rq.container, rq.blob, id)
	var prev block
	_, hadPrev, err := s.st.get(rq.ctx, key, &prev)
	if err != nil {
		s.st.deleteObjects(segs)
		return err
	}
	blk := block{ID: id, Size: size, Segs: segs}
	b, _ := jsonMarshal(blk)
	if _, err := s.st.kv.Put(rq.ctx, key, b); err != nil {
		s.st.deleteObjects(segs)
		return err
	}
	if hadPrev {
		s.st.release([]block{prev}, []block{blk})
	}
	if _, err := s.st.kv.Put(rq.ctx, stagingKey(rq.acct, rq.container, rq.blob), []byte{'1'}); err != nil {
		return err
	}
	hh := rq.w.Header()
	hh.Set("Content-MD5", base64.StdEncoding.EncodeToString(sum))
	hh.Set("x-ms-request-server-encrypted", "true")
	rq.w.WriteHeader(http.StatusCreated)
	return nil
}

// uncommitted reads the blob's uncommitted blocks, in the order they were
// last staged, with their keys.
func (s *Service) uncommitted(rq *req) ([]block, []string, error) {
	keys, err := s.st.keys(rq.ctx, uncommittedKeys(rq.acct, rq.container, rq.blob))
	if err != nil {
		return nil, nil, err
	}
	type entry struct {
		b   block
		rev uint64
		key string
	}
	var es []entry
	for _, k := range keys {
		var b block
		rev, ok, err := s.st.get(rq.ctx, k, &b)
		if err != nil {
			return nil, nil, err
		}
		if ok {
			es = append(es, entry{b, rev, k})
		}
	}
	// Staging order is revision order.
	for i := 1; i < len(es); i++ {
		for j := i; j > 0 && es[j].rev < es[j-1].rev; j-- {
			es[j], es[j-1] = es[j-1], es[j]
		}
	}
	blocks := make([]block, len(es))
	ks := make([]string, len(es))
	for i, e := range es {
		blocks[i], ks[i] = e.b, e.key
	}
	return blocks, ks, nil
}

// discardUncommitted drops the blob's uncommitted blocks (all of them, or
// those listed in keys), keeping the objects the blob now uses.
func (s *Service) discardUncommitted(rq *req, keep []block) {
	skey := stagingKey(rq.acct, rq.container, rq.blob)
	if _, err := s.st.kv.Get(rq.ctx, skey); err != nil {
		if !errors.Is(err, jetstream.ErrKeyNotFound) {
			s.log.Warn("blob: reading the staging marker", "blob", rq.blob, "err", err)
		}
		return
	}
	blocks, keys, err := s.uncommitted(rq)
	if err != nil {
		s.log.Warn("blob: listing uncommitted blocks", "blob", rq.blob, "err", err)
		return
	}
	s.dropBlocks(rq, append(keys, skey), blocks, keep)
}

func (s *Service) dropBlocks(rq *req, keys []string, blocks []block, keep []block) {
	for _, k := range keys {
		if err := s.st.kv.Purge(rq.ctx, k); err != nil {
			s.log.Warn("blob: dropping an uncommitted block", "key", k, "err", err)
		}
	}
	s.st.release(blocks, keep)
}

func (s *Service) putBlockList(rq *req) error {
	if err := s.authorize(rq, "cw", rq.blobRes()); err != nil {
		return err
	}
	hdr, err := readHeaders(rq.r.Header)
	if err != nil {
		return err
	}
	meta, err := readMetadata(rq.r.Header)
	if err != nil {
		return err
	}
	cond, err := readConditions(rq.r)
	if err != nil {
		return err
	}
	if _, _, err := s.getContainer(rq); err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(rq.w, rq.r.Body, 8<<20))
	if err != nil {
		return bodyError(err)
	}
	list, err := parseBlockList(body)
	if err != nil {
		return err
	}
	if hdr.ContentType == "" {
		hdr.ContentType = "application/octet-stream"
	}
	staged, keys, err := s.uncommitted(rq)
	if err != nil {
		return err
	}
	byID := make(map[string]block, len(staged))
	for _, b := range staged {
		byID[b.ID] = b
	}
	nb, old, rev, err := s.commitBlob(rq, func(old *blobRecord) (*blobRecord, error) {
		if err := checkBlob(cond, old, false); err != nil {
			return nil, err
		}
		if old != nil && old.Type != blockBlob {
			return nil, errInvalidType
		}
		committed := map[string]block{}
		if old != nil {
			for _, b := range old.Blocks {
				if b.ID != "" {
					committed[b.ID] = b
				}
			}
		}
		blocks := make([]block, 0, len(list))
		var size int64
		for _, l := range list {
			var b block
			var ok bool
			switch l.List {
			case "Committed":
				b, ok = committed[l.ID]
			case "Uncommitted":
				b, ok = byID[l.ID]
			default:
				if b, ok = byID[l.ID]; !ok {
					b, ok = committed[l.ID]
				}
			}
			if !ok {
				return nil, errInvalidBlockList
			}
			blocks = append(blocks, b)
			size += b.Size
		}
		now := s.now().UTC()
		nb := &blobRecord{Name: rq.blob, Type: blockBlob, Created: now, Modified: now, ETag: s.etags.next(now),
			Size: size, Headers: hdr, Metadata: meta, Blocks: blocks}
		if old != nil {
			nb.Created = old.Created
		}
		return nb, nil
	})
	if err != nil {
		return err
	}
	// The uncommitted blocks are gone now, used or not; objects of the old
	// blob and of unused blocks are freed.
	var freed []block
	if old != nil {
		freed = append(freed, old.Blocks...)
	}
	s.dropBlocks(rq, append(keys, stagingKey(rq.acct, rq.container, rq.blob)), append(freed, staged...), nb.Blocks)
	s.blobEvent(rq, "PutBlockList", nb, rev, false)
	h := rq.w.Header()
	setCommon(h, nb.ETag, nb.Modified)
	h.Set("x-ms-request-server-encrypted", "true")
	rq.w.WriteHeader(http.StatusCreated)
	return nil
}

type xmlBlock struct {
	Name string `xml:"Name"`
	Size int64  `xml:"Size"`
}

type xmlBlockList struct {
	XMLName     xml.Name `xml:"BlockList"`
	Committed   *blocksElem
	Uncommitted *blocksElem
}

type blocksElem struct {
	XMLName xml.Name
	Blocks  []xmlBlock `xml:"Block"`
}

func (s *Service) getBlockList(rq *req) error {
	if err := s.authorize(rq, "r", rq.blobRes(), "blob", "container"); err != nil {
		return err
	}
	which := strings.ToLower(rq.query("blocklisttype"))
	switch which {
	case "":
		which = "committed"
	case "committed", "uncommitted", "all":
	default:
		return wire.ErrInvalidQueryParameterValue.With("QueryParameterName", "blocklisttype").With("QueryParameterValue", which)
	}
	cond, err := readConditions(rq.r)
	if err != nil {
		return err
	}
	b, _, err := s.getBlobRecord(rq)
	if err != nil {
		return err
	}
	staged, _, err := s.uncommitted(rq)
	if err != nil {
		return err
	}
	if b == nil && (len(staged) == 0 || which == "committed") {
		return s.blobNotFound(rq)
	}
	if b != nil {
		if err := checkBlob(cond, b, false); err != nil {
			return err
		}
	}
	out := xmlBlockList{}
	h := rq.w.Header()
	if which != "uncommitted" {
		out.Committed = &blocksElem{XMLName: xml.Name{Local: "CommittedBlocks"}, Blocks: []xmlBlock{}}
		if b != nil {
			for _, blk := range b.Blocks {
				if blk.ID != "" {
					out.Committed.Blocks = append(out.Committed.Blocks, xmlBlock{Name: blk.ID, Size: blk.Size})
				}
			}
		}
	}
	if which != "committed" {
		out.Uncommitted = &blocksElem{XMLName: xml.Name{Local: "UncommittedBlocks"}, Blocks: []xmlBlock{}}
		for _, blk := range staged {
			out.Uncommitted.Blocks = append(out.Uncommitted.Blocks, xmlBlock{Name: blk.ID, Size: blk.Size})
		}
	}
	if b != nil {
		setCommon(h, b.ETag, b.Modified)
		h.Set("x-ms-blob-content-length", strconv.FormatInt(b.Size, 10))
		h.Set("Content-Type", "application/xml")
	}
	return wire.WriteXML(rq.w, http.StatusOK, out)
}

func (s *Service) appendBlock(rq *req) error {
	if err := s.authorize(rq, "aw", rq.blobRes()); err != nil {
		return err
	}
	n, err := contentLength(rq.r)
	if err != nil {
		return err
	}
	if n > maxAppendBlock {
		return wire.Errorf(http.StatusRequestEntityTooLarge, "RequestBodyTooLarge", "An append block may be at most %d bytes.", maxAppendBlock)
	}
	cond, err := readConditions(rq.r)
	if err != nil {
		return err
	}
	wantMD5, err := requestMD5(rq.r.Header)
	if err != nil {
		return err
	}
	maxSize, appendPos := int64(-1), int64(-1)
	for _, p := range []struct {
		name string
		dst  *int64
	}{{"x-ms-blob-condition-maxsize", &maxSize}, {"x-ms-blob-condition-appendpos", &appendPos}} {
		if v := rq.r.Header.Get(p.name); v != "" {
			x, err := strconv.ParseInt(v, 10, 64)
			if err != nil || x < 0 {
				return wire.ErrInvalidHeaderValue.With("HeaderName", p.name).With("HeaderValue", v)
			}
			*p.dst = x
		}
	}
	check := func(b *blobRecord) error {
		if b == nil {
			return s.blobNotFound(rq)
		}
		if b.Type != appendBlob {
			return errInvalidType
		}
		if err := checkBlob(cond, b, false); err != nil {
			return err
		}
		if maxSize >= 0 && b.Size+n > maxSize {
			return &wire.Error{Status: http.StatusPreconditionFailed, Code: "MaxBlobSizeConditionNotMet", Message: "The max blob size condition specified was not met."}
		}
		if appendPos >= 0 && b.Size != appendPos {
			return &wire.Error{Status: http.StatusPreconditionFailed, Code: "AppendPositionConditionNotMet", Message: "The append position condition specified was not met."}
		}
		if len(b.Blocks) >= maxBlocks {
			return wire.Errorf(http.StatusConflict, "BlockCountExceedsLimit", "The committed block count cannot exceed the maximum limit of %d blocks.", maxBlocks)
		}
		return nil
	}
	cur, _, err := s.getBlobRecord(rq)
	if err != nil {
		return err
	}
	if err := check(cur); err != nil {
		return err
	}
	h := md5.New()
	segs, size, err := s.st.writeSegments(rq.ctx, http.MaxBytesReader(rq.w, rq.r.Body, max(n, 0)), 0, h)
	if err != nil {
		return err
	}
	sum := h.Sum(nil)
	if wantMD5 != nil && !bytes.Equal(wantMD5, sum) {
		s.st.deleteObjects(segs)
		return md5Mismatch(wantMD5, sum)
	}
	var offset int64
	nb, _, _, err := s.commitBlob(rq, func(old *blobRecord) (*blobRecord, error) {
		if err := check(old); err != nil {
			return nil, err
		}
		offset = old.Size
		now := s.now().UTC()
		old.Blocks = append(old.Blocks, block{Size: size, Segs: segs})
		old.Size += size
		old.Modified, old.ETag = now, s.etags.next(now)
		return old, nil
	})
	if err != nil {
		s.st.deleteObjects(segs)
		return err
	}
	hh := rq.w.Header()
	setCommon(hh, nb.ETag, nb.Modified)
	hh.Set("Content-MD5", base64.StdEncoding.EncodeToString(sum))
	hh.Set("x-ms-blob-append-offset", strconv.FormatInt(offset, 10))
	hh.Set("x-ms-blob-committed-block-count", strconv.Itoa(len(nb.Blocks)))
	hh.Set("x-ms-request-server-encrypted", "true")
	rq.w.WriteHeader(http.StatusCreated)
	return nil
}

// blockSource is where a staged block's bytes come from: the request body,
// or for Put Block From URL (x-ms-copy-source) a blob of this service, whole
// or the x-ms-source-range of it.
func (s *Service) blockSource(rq *req) (io.ReadCloser, int64, error) {
	if rq.r.Header.Get("x-ms-copy-source") == "" {
		n, err := contentLength(rq.r)
		if err != nil {
			return nil, 0, err
		}
		return io.NopCloser(http.MaxBytesReader(rq.w, rq.r.Body, max(n, 0))), n, nil
	}
	_, sb, err := s.copySource(rq)
	if err != nil {
		return nil, 0, err
	}
	off, n := int64(0), sb.Size
	if hdr := rq.r.Header.Get("x-ms-source-range"); hdr != "" {
		rng, ok := parseRange(hdr)
		if !ok || rng.Start >= sb.Size || rng.End >= sb.Size {
			return nil, 0, wire.ErrInvalidHeaderValue.With("HeaderName", "x-ms-source-range").With("HeaderValue", hdr)
		}
		end := sb.Size - 1
		if rng.End >= 0 {
			end = rng.End
		}
		off, n = rng.Start, end-rng.Start+1
	}
	return s.st.rangeReader(rq.ctx, segmentsOf(sb.Blocks), off, n), n, nil
}
