package blob

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/lapisdev/lapis/internal/storage/auth"
	"github.com/lapisdev/lapis/internal/storage/wire"
)

// Blob types.
const (
	blockBlob  = "BlockBlob"
	appendBlob = "AppendBlob"
)

// Limits, as Azure's current service versions have them.
const (
	maxPutBlob     = 5000 << 20
	maxBlockSize   = 4000 << 20
	maxAppendBlock = 100 << 20
)

var (
	errBlobNotFound = &wire.Error{Status: http.StatusNotFound, Code: "BlobNotFound", Message: "The specified blob does not exist."}
	errInvalidType  = &wire.Error{Status: http.StatusConflict, Code: "InvalidBlobType", Message: "The blob type is invalid for this operation."}
)

// blobNotFound is ContainerNotFound when the container is missing too.
func (s *Service) blobNotFound(rq *req) error {
	if _, _, err := s.getContainer(rq); err != nil {
		return err
	}
	return errBlobNotFound
}

// getBlobRecord reads the blob's record (nil when missing).
func (s *Service) getBlobRecord(rq *req) (*blobRecord, uint64, error) {
	var b blobRecord
	rev, ok, err := s.st.get(rq.ctx, blobKey(rq.acct, rq.container, rq.blob), &b)
	if err != nil || !ok {
		return nil, 0, err
	}
	return &b, rev, nil
}

// commitBlob changes the blob's record with a compare-and-set: f gets the
// current record (nil when there is none) and returns the new one, or nil
// to delete it. It returns the record written, the one replaced, and the
// revision (for a delete, the revision deleted).
func (s *Service) commitBlob(rq *req, f func(old *blobRecord) (*blobRecord, error)) (nb, old *blobRecord, rev uint64, err error) {
	key := blobKey(rq.acct, rq.container, rq.blob)
	for try := 0; ; try++ {
		cur, curRev, err := s.getBlobRecord(rq)
		if err != nil {
			return nil, nil, 0, err
		}
		nb, err := f(cur)
		if err != nil {
			return nil, nil, 0, err
		}
		var newRev uint64
		if nb == nil {
			if cur == nil {
				return nil, nil, 0, s.blobNotFound(rq)
			}
			err, newRev = s.st.del(rq.ctx, key, curRev), curRev
		} else {
			newRev, err = s.st.put(rq.ctx, key, nb, curRev)
		}
		if err != nil {
			if isConflict(err) && try < casTries {
				continue
			}
			return nil, nil, 0, err
		}
		return nb, cur, newRev, nil
	}
}

// readHeaders reads the x-ms-blob-* HTTP headers a write sets.
func readHeaders(h http.Header) (httpHeaders, error) {
	ct := h.Get("x-ms-blob-content-type")
	if ct == "" {
		ct = h.Get("Content-Type") // Put Blob takes the request's own, as Azure does
	}
	out := httpHeaders{
		ContentType:        ct,
		ContentEncoding:    h.Get("x-ms-blob-content-encoding"),
		ContentLanguage:    h.Get("x-ms-blob-content-language"),
		ContentDisposition: h.Get("x-ms-blob-content-disposition"),
		CacheControl:       h.Get("x-ms-blob-cache-control"),
	}
	if v := h.Get("x-ms-blob-content-md5"); v != "" {
		md, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(md) != md5.Size {
			return out, wire.ErrInvalidHeaderValue.With("HeaderName", "x-ms-blob-content-md5").With("HeaderValue", v)
		}
		out.ContentMD5 = md
	}
	return out, nil
}

// requestMD5 reads Content-MD5 (nil when absent).
func requestMD5(h http.Header) ([]byte, error) {
	v := h.Get("Content-MD5")
	if v == "" {
		return nil, nil
	}
	md, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(md) != md5.Size {
		return nil, wire.ErrInvalidHeaderValue.With("HeaderName", "Content-MD5").With("HeaderValue", v)
	}
	return md, nil
}

func md5Mismatch(want, got []byte) error {
	return wire.Errorf(http.StatusBadRequest, "Md5Mismatch", "The MD5 value specified in the request did not match with the MD5 value calculated by the server.").
		With("UserSpecifiedMd5", base64.StdEncoding.EncodeToString(want)).
		With("ServerCalculatedMd5", base64.StdEncoding.EncodeToString(got))
}

func (s *Service) putBlob(rq *req) error {
	if err := s.authorize(rq, "cw", rq.blobRes()); err != nil {
		return err
	}
	typ := rq.r.Header.Get("x-ms-blob-type")
	switch typ {
	case blockBlob, appendBlob:
	case "":
		return wire.ErrMissingRequiredHeader.With("HeaderName", "x-ms-blob-type")
	case "PageBlob":
		return wire.Errorf(http.StatusBadRequest, "InvalidHeaderValue", "Lapis does not support page blobs; use BlockBlob or AppendBlob.").With("HeaderName", "x-ms-blob-type")
	default:
		return wire.ErrInvalidHeaderValue.With("HeaderName", "x-ms-blob-type").With("HeaderValue", typ)
	}
	n, err := contentLength(rq.r)
	if err != nil {
		return err
	}
	if n > maxPutBlob {
		return wire.Errorf(http.StatusRequestEntityTooLarge, "RequestBodyTooLarge", "The request body is too large and exceeds the maximum permissible limit of %d bytes.", maxPutBlob)
	}
	if typ == appendBlob && n != 0 {
		return wire.Errorf(http.StatusBadRequest, "InvalidHeaderValue", "Put Blob of an append blob creates it empty: Content-Length must be 0.").With("HeaderName", "Content-Length")
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
	wantMD5, err := requestMD5(rq.r.Header)
	if err != nil {
		return err
	}
	if _, _, err := s.getContainer(rq); err != nil {
		return err
	}
	// Check the conditions before taking the body; commit checks again.
	if cond.any() {
		cur, _, err := s.getBlobRecord(rq)
		if err != nil {
			return err
		}
		if err := checkBlob(cond, cur, false); err != nil {
			return err
		}
	}
	h := md5.New()
	segs, size, err := s.st.writeSegments(rq.ctx, http.MaxBytesReader(rq.w, rq.r.Body, max(n, 0)), inlineMax, h)
	if err != nil {
		return err
	}
	sum := h.Sum(nil)
	if wantMD5 != nil && !bytes.Equal(wantMD5, sum) {
		s.st.deleteObjects(segs)
		return md5Mismatch(wantMD5, sum)
	}
	if hdr.ContentMD5 == nil && typ == blockBlob {
		hdr.ContentMD5 = sum
	}
	if hdr.ContentType == "" {
		hdr.ContentType = "application/octet-stream"
	}
	var blocks []block
	if size > 0 {
		blocks = []block{{Size: size, Segs: segs}}
	}
	nb, old, rev, err := s.commitBlob(rq, func(old *blobRecord) (*blobRecord, error) {
		if err := checkBlob(cond, old, false); err != nil {
			return nil, err
		}
		now := s.now().UTC()
		b := &blobRecord{Name: rq.blob, Type: typ, Created: now, Modified: now, ETag: s.etags.next(now),
			Size: size, Headers: hdr, Metadata: meta, Blocks: blocks}
		if old != nil {
			b.Created = old.Created
		}
		return b, nil
	})
	if err != nil {
		s.st.deleteObjects(segs)
		return err
	}
	if old != nil {
		s.st.release(old.Blocks, nb.Blocks)
	}
	s.discardUncommitted(rq, nil)
	s.blobEvent(rq, "PutBlob", nb, rev, false)
	hh := rq.w.Header()
	setCommon(hh, nb.ETag, nb.Modified)
	if typ == blockBlob {
		hh.Set("Content-MD5", base64.StdEncoding.EncodeToString(sum))
	}
	hh.Set("x-ms-request-server-encrypted", "true")
	rq.w.WriteHeader(http.StatusCreated)
	return nil
}

// checkBlob evaluates conditions against a blob that may be missing.
func checkBlob(c conditions, b *blobRecord, read bool) error {
	if b == nil {
		return c.check(false, "", zeroTime, read)
	}
	return c.check(true, b.ETag, b.Modified, read)
}

// setBlobHeaders sets the headers that describe a blob on GET and HEAD.
func setBlobHeaders(h http.Header, b *blobRecord) {
	setCommon(h, b.ETag, b.Modified)
	wire.SetMetadata(h, b.Metadata)
	h.Set("x-ms-blob-type", b.Type)
	h.Set("x-ms-creation-time", wire.FormatTime(b.Created))
	h.Set("x-ms-lease-state", "available")
	h.Set("x-ms-lease-status", "unlocked")
	h.Set("x-ms-server-encrypted", "true")
	h.Set("Accept-Ranges", "bytes")
	if b.Headers.ContentType != "" {
		h.Set("Content-Type", b.Headers.ContentType)
	}
	for _, kv := range [][2]string{{"Content-Encoding", b.Headers.ContentEncoding}, {"Content-Language", b.Headers.ContentLanguage},
		{"Content-Disposition", b.Headers.ContentDisposition}, {"Cache-Control", b.Headers.CacheControl}} {
		if kv[1] != "" {
			h.Set(kv[0], kv[1])
		}
	}
	if b.Type == appendBlob {
		h.Set("x-ms-blob-committed-block-count", strconv.Itoa(len(b.Blocks)))
		h.Set("x-ms-blob-sealed", "false")
	}
	if c := b.Copy; c != nil {
		h.Set("x-ms-copy-id", c.ID)
		h.Set("x-ms-copy-source", c.Source)
		h.Set("x-ms-copy-status", c.Status)
		h.Set("x-ms-copy-progress", c.Progress)
		h.Set("x-ms-copy-completion-time", wire.FormatTime(c.Completed))
	}
}

func (s *Service) getBlob(rq *req) error {
	if err := s.authorize(rq, "r", rq.blobRes(), "blob", "container"); err != nil {
		return err
	}
	cond, err := readConditions(rq.r)
	if err != nil {
		return err
	}
	b, _, err := s.getBlobRecord(rq)
	if err != nil {
		return err
	}
	if b == nil {
		return s.blobNotFound(rq)
	}
	if err := checkBlob(cond, b, true); err != nil {
		if err == errNotModified {
			setCommon(rq.w.Header(), b.ETag, b.Modified)
		}
		return err
	}
	h := rq.w.Header()
	setBlobHeaders(h, b)
	if rq.query("comp") == "metadata" {
		rq.w.WriteHeader(http.StatusOK)
		return nil
	}
	if rq.r.Method == http.MethodHead {
		h.Set("Content-Length", strconv.FormatInt(b.Size, 10))
		h.Set("x-ms-access-tier", "Hot")
		h.Set("x-ms-access-tier-inferred", "true")
		if len(b.Headers.ContentMD5) > 0 {
			h.Set("Content-MD5", base64.StdEncoding.EncodeToString(b.Headers.ContentMD5))
		}
		rq.w.WriteHeader(http.StatusOK)
		return nil
	}
	rangeHdr := rq.r.Header.Get("x-ms-range")
	if rangeHdr == "" {
		rangeHdr = rq.r.Header.Get("Range")
	}
	rng, ranged := parseRange(rangeHdr)
	if rangeHdr != "" && !ranged && rq.r.Header.Get("x-ms-range") != "" {
		return wire.ErrInvalidHeaderValue.With("HeaderName", "x-ms-range").With("HeaderValue", rangeHdr)
	}
	segs := segmentsOf(b.Blocks)
	off, n, status := int64(0), b.Size, http.StatusOK
	if ranged {
		if rng.Start >= b.Size {
			h.Set("Content-Range", fmt.Sprintf("bytes */%d", b.Size))
			return &wire.Error{Status: http.StatusRequestedRangeNotSatisfiable, Code: "InvalidRange", Message: "The range specified is invalid for the current size of the resource."}
		}
		end := b.Size - 1
		if rng.End >= 0 && rng.End < end {
			end = rng.End
		}
		off, n, status = rng.Start, end-rng.Start+1, http.StatusPartialContent
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", off, end, b.Size))
		if len(b.Headers.ContentMD5) > 0 {
			h.Set("x-ms-blob-content-md5", base64.StdEncoding.EncodeToString(b.Headers.ContentMD5))
		}
	} else if len(b.Headers.ContentMD5) > 0 {
		h.Set("Content-MD5", base64.StdEncoding.EncodeToString(b.Headers.ContentMD5))
	}
	h.Set("Content-Length", strconv.FormatInt(n, 10))
	if strings.EqualFold(rq.r.Header.Get("x-ms-range-get-content-md5"), "true") && ranged {
		if n > 4<<20 {
			return wire.Errorf(http.StatusBadRequest, "OutOfRangeInput", "x-ms-range-get-content-md5 is allowed only for ranges of at most 4 MiB.")
		}
		var buf bytes.Buffer
		if err := s.st.copyRange(rq.ctx, &buf, segs, off, n); err != nil {
			return err
		}
		sum := md5.Sum(buf.Bytes())
		h.Set("Content-MD5", base64.StdEncoding.EncodeToString(sum[:]))
		rq.w.WriteHeader(status)
		_, _ = rq.w.Write(buf.Bytes())
		return nil
	}
	rq.w.WriteHeader(status)
	if err := s.st.copyRange(rq.ctx, rq.w, segs, off, n); err != nil {
		if rq.ctx.Err() == nil {
			s.log.Warn("blob: download broken off", "blob", rq.blob, "err", err)
		}
		// The status is sent: break the connection so the client sees a
		// short body rather than a complete-looking one.
		panic(http.ErrAbortHandler)
	}
	return nil
}

func (s *Service) deleteBlob(rq *req) error {
	if err := s.authorize(rq, "d", rq.blobRes()); err != nil {
		return err
	}
	cond, err := readConditions(rq.r)
	if err != nil {
		return err
	}
	switch ds := rq.r.Header.Get("x-ms-delete-snapshots"); ds {
	case "", "include":
	case "only":
		// Lapis keeps no snapshots, so there is nothing to delete; the
		// blob itself stays, as in Azure.
		b, _, err := s.getBlobRecord(rq)
		if err != nil {
			return err
		}
		if b == nil {
			return s.blobNotFound(rq)
		}
		if err := checkBlob(cond, b, false); err != nil {
			return err
		}
		rq.w.WriteHeader(http.StatusAccepted)
		return nil
	default:
		return wire.ErrInvalidHeaderValue.With("HeaderName", "x-ms-delete-snapshots").With("HeaderValue", ds)
	}
	_, old, rev, err := s.commitBlob(rq, func(old *blobRecord) (*blobRecord, error) {
		if old == nil {
			return nil, s.blobNotFound(rq)
		}
		return nil, checkBlob(cond, old, false)
	})
	if err != nil {
		return err
	}
	s.st.release(old.Blocks, nil)
	s.discardUncommitted(rq, nil)
	s.blobEvent(rq, "DeleteBlob", old, rev, true)
	rq.w.Header().Set("x-ms-delete-type-permanent", "true")
	rq.w.WriteHeader(http.StatusAccepted)
	return nil
}

// updateBlob changes an existing blob's properties (not its content).
func (s *Service) updateBlob(rq *req, f func(b *blobRecord) error) error {
	cond, err := readConditions(rq.r)
	if err != nil {
		return err
	}
	nb, _, _, err := s.commitBlob(rq, func(old *blobRecord) (*blobRecord, error) {
		if old == nil {
			return nil, s.blobNotFound(rq)
		}
		if err := checkBlob(cond, old, false); err != nil {
			return nil, err
		}
		if err := f(old); err != nil {
			return nil, err
		}
		now := s.now().UTC()
		old.Modified, old.ETag = now, s.etags.next(now)
		return old, nil
	})
	if err != nil {
		return err
	}
	setCommon(rq.w.Header(), nb.ETag, nb.Modified)
	rq.w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Service) setBlobMetadata(rq *req) error {
	if err := s.authorize(rq, "w", rq.blobRes()); err != nil {
		return err
	}
	meta, err := readMetadata(rq.r.Header)
	if err != nil {
		return err
	}
	return s.updateBlob(rq, func(b *blobRecord) error {
		b.Metadata = meta
		return nil
	})
}

func (s *Service) setBlobProperties(rq *req) error {
	if err := s.authorize(rq, "w", rq.blobRes()); err != nil {
		return err
	}
	hdr, err := readHeaders(rq.r.Header)
	if err != nil {
		return err
	}
	return s.updateBlob(rq, func(b *blobRecord) error {
		// As in Azure, Set Blob Properties replaces all the HTTP headers:
		// one not sent is cleared.
		b.Headers = hdr
		return nil
	})
}

// copySource resolves x-ms-copy-source to a blob of this Lapis that the
// caller may read.
func (s *Service) copySource(rq *req) (*req, *blobRecord, error) {
	raw := rq.r.Header.Get("x-ms-copy-source")
	u, err := url.Parse(raw)
	if err != nil || u.Path == "" {
		return nil, nil, wire.Errorf(http.StatusBadRequest, "InvalidHeaderValue", "x-ms-copy-source must be the URL of a blob in this Lapis.").With("HeaderName", "x-ms-copy-source")
	}
	p, err := wire.ParsePath(u)
	if err != nil || p.Container == "" || p.Blob == "" {
		return nil, nil, wire.Errorf(http.StatusBadRequest, "InvalidHeaderValue", "x-ms-copy-source must be a path-style blob URL: http://host:port/{account}/{container}/{blob}.").With("HeaderName", "x-ms-copy-source")
	}
	if !s.isOwnHost(u, rq.r) {
		return nil, nil, wire.Errorf(http.StatusBadRequest, "CannotVerifyCopySource",
			"Lapis copies only blobs it stores: the copy source %s is not this Blob service (%s).", u.Host, rq.r.Host)
	}
	src := &req{w: rq.w, r: rq.r, ctx: rq.ctx, id: rq.id, acct: p.Account, container: p.Container, blob: p.Blob, q: u.Query()}
	notReadable := &wire.Error{Status: http.StatusNotFound, Code: "CannotVerifyCopySource", Message: "The specified resource does not exist: the copy source is missing or not readable."}
	if p.Account == rq.acct && (rq.grant.Kind == auth.SharedKey || rq.grant.Kind == auth.SharedKeyLite) {
		src.grant = rq.grant
	} else {
		// Authorize the source by itself: a SAS in its URL, or public access.
		sr, err := http.NewRequestWithContext(rq.ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return nil, nil, wire.Errorf(http.StatusBadRequest, "InvalidHeaderValue", "x-ms-copy-source is not a valid URL.").With("HeaderName", "x-ms-copy-source")
		}
		sr.Header.Set("x-ms-version", rq.r.Header.Get("x-ms-version"))
		src.r = sr
		if src.grant, err = s.authn.Authenticate(sr, auth.Blob, p.Account); err != nil {
			return nil, nil, wire.Errorf(http.StatusForbidden, "CannotVerifyCopySource", "The copy source could not be authenticated: %s", wire.AsError(err).Message)
		}
		if err := s.authorize(src, "r", src.blobRes(), "blob", "container"); err != nil {
			if wire.AsError(err).Status == http.StatusUnauthorized {
				return nil, nil, notReadable
			}
			return nil, nil, err
		}
		src.r = rq.r
	}
	b, _, err := s.getBlobRecord(src)
	if err != nil {
		return nil, nil, err
	}
	if b == nil {
		return nil, nil, notReadable
	}
	return src, b, nil
}

// sourceConditions reads x-ms-source-if-* (the copy source's conditions).
func sourceConditions(r *http.Request) (conditions, error) {
	h := http.Header{}
	for _, n := range []string{"If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since"} {
		if v := r.Header.Get("x-ms-source-" + strings.ToLower(n)); v != "" {
			h.Set(n, v)
		}
	}
	return readConditions(&http.Request{Header: h})
}

func (s *Service) copyBlob(rq *req) error {
	if err := s.authorize(rq, "cw", rq.blobRes()); err != nil {
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
	srcCond, err := sourceConditions(rq.r)
	if err != nil {
		return err
	}
	if _, _, err := s.getContainer(rq); err != nil {
		return err
	}
	src, sb, err := s.copySource(rq)
	if err != nil {
		return err
	}
	if err := checkBlob(srcCond, sb, false); err != nil {
		return err
	}
	if cond.any() {
		cur, _, err := s.getBlobRecord(rq)
		if err != nil {
			return err
		}
		if err := checkBlob(cond, cur, false); err != nil {
			return err
		}
	}
	// Copy the content block by block, so the block list survives.
	var blocks []block
	var size int64
	fail := func(err error) error {
		for _, b := range blocks {
			s.st.deleteObjects(b.Segs)
		}
		return err
	}
	for _, blk := range sb.Blocks {
		rd := s.st.rangeReader(rq.ctx, blk.Segs, 0, blk.Size)
		inline := int64(0)
		if len(sb.Blocks) == 1 && blk.ID == "" {
			inline = inlineMax
		}
		segs, n, err := s.st.writeSegments(rq.ctx, rd, inline)
		rd.Close()
		if err != nil {
			return fail(err)
		}
		if n != blk.Size {
			s.st.deleteObjects(segs)
			return fail(fmt.Errorf("blob: copy of %s read %d bytes of %d", src.blob, n, blk.Size))
		}
		blocks = append(blocks, block{ID: blk.ID, Size: n, Segs: segs})
		size += n
	}
	if meta == nil {
		meta = maps.Clone(sb.Metadata)
	}
	copyID := uuid.NewString()
	srcURL := rq.r.Header.Get("x-ms-copy-source")
	nb, old, rev, err := s.commitBlob(rq, func(old *blobRecord) (*blobRecord, error) {
		if err := checkBlob(cond, old, false); err != nil {
			return nil, err
		}
		now := s.now().UTC()
		b := &blobRecord{Name: rq.blob, Type: sb.Type, Created: now, Modified: now, ETag: s.etags.next(now),
			Size: size, Headers: sb.Headers, Metadata: meta, Blocks: slices.Clone(blocks),
			Copy: &copyInfo{ID: copyID, Source: srcURL, Status: "success", Progress: fmt.Sprintf("%d/%d", size, size), Completed: now}}
		if old != nil {
			b.Created = old.Created
		}
		return b, nil
	})
	if err != nil {
		return fail(err)
	}
	if old != nil {
		s.st.release(old.Blocks, nb.Blocks)
	}
	s.blobEvent(rq, "CopyBlob", nb, rev, false)
	h := rq.w.Header()
	setCommon(h, nb.ETag, nb.Modified)
	if rq.r.Header.Get("x-ms-blob-type") != "" {
		// Put Blob From URL: a create, answered as Put Blob is.
		rq.w.WriteHeader(http.StatusCreated)
		return nil
	}
	h.Set("x-ms-copy-id", copyID)
	h.Set("x-ms-copy-status", "success")
	rq.w.WriteHeader(http.StatusAccepted)
	return nil
}

// isOwnHost reports whether a copy source URL names this Blob service: the
// host the request came to, or a loopback name on this service's port.
func (s *Service) isOwnHost(u *url.URL, r *http.Request) bool {
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "80"
	}
	if port != strconv.Itoa(s.env.Ports.Blob) {
		return false
	}
	switch strings.ToLower(host) {
	case "localhost", "127.0.0.1", "::1", strings.ToLower(s.env.Host):
		return true
	}
	return false
}
