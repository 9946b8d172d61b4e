package blob

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lapisdev/lapis/internal/storage/account"
	"github.com/lapisdev/lapis/internal/storage/auth"
	"github.com/lapisdev/lapis/internal/storage/wire"
)

var (
	errContainerNotFound = &wire.Error{Status: http.StatusNotFound, Code: "ContainerNotFound", Message: "The specified container does not exist."}
	errContainerExists   = &wire.Error{Status: http.StatusConflict, Code: "ContainerAlreadyExists", Message: "The specified container already exists."}
	errPublicNotAllowed  = &wire.Error{Status: http.StatusConflict, Code: "PublicAccessNotPermitted", Message: "Public access is not permitted on this storage account."}
)

// getContainer reads a container record.
func (s *Service) getContainer(rq *req) (*containerRecord, uint64, error) {
	var c containerRecord
	rev, ok, err := s.st.get(rq.ctx, containerKey(rq.acct, rq.container), &c)
	if err != nil {
		return nil, 0, err
	}
	if !ok {
		return nil, 0, errContainerNotFound
	}
	return &c, rev, nil
}

// publicAccessAllowed reports whether the account lets containers be
// public: always for the development account, otherwise the account's
// allowBlobPublicAccess property.
func (s *Service) publicAccessAllowed(rq *req) (bool, error) {
	if rq.acct == account.DevAccount {
		return true, nil
	}
	rec, err := s.env.Accounts.Record(rq.ctx, rq.acct)
	if err != nil {
		return false, err
	}
	allowed, _ := rec.Properties["allowBlobPublicAccess"].(bool)
	return allowed, nil
}

// authorize checks the request's grant for perms on res. An anonymous
// caller is let through when the container's public access level is one
// of levels (and the account allows public access).
func (s *Service) authorize(rq *req, perms string, res auth.Resource, levels ...string) error {
	err := rq.allow(perms, res)
	if err == nil || rq.grant.Kind != auth.Anonymous || len(levels) == 0 {
		return err
	}
	c, _, cerr := s.getContainer(rq)
	if cerr != nil || !slices.Contains(levels, c.Public) {
		// An anonymous read of what is not public is told "does not
		// exist", as Azure does, so that callers cannot probe which
		// private containers exist.
		return wire.ErrResourceNotFound
	}
	if ok, aerr := s.publicAccessAllowed(rq); aerr != nil || !ok {
		return errPublicNotAllowed
	}
	return nil
}

func parsePublicAccess(r *http.Request) (string, error) {
	v := r.Header.Get("x-ms-blob-public-access")
	switch v {
	case "", "blob", "container":
		return v, nil
	}
	return "", wire.ErrInvalidHeaderValue.With("HeaderName", "x-ms-blob-public-access").With("HeaderValue", v)
}

// readMetadata reads x-ms-meta-* and checks the names are C# identifiers,
// as Azure requires.
func readMetadata(h http.Header) (map[string]string, error) {
	m := wire.Metadata(h)
	for k := range m {
		ok := k != ""
		for i := 0; i < len(k) && ok; i++ {
			c := k[i]
			ok = c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9'
		}
		if !ok {
			return nil, wire.Errorf(http.StatusBadRequest, "InvalidMetadata",
				"The metadata specified is invalid. It has characters that are not permitted: %q.", k)
		}
	}
	return m, nil
}

func (s *Service) createContainer(rq *req) error {
	if err := s.authorize(rq, "cw", rq.containerRes()); err != nil {
		return err
	}
	public, err := parsePublicAccess(rq.r)
	if err != nil {
		return err
	}
	meta, err := readMetadata(rq.r.Header)
	if err != nil {
		return err
	}
	if public != "" {
		if ok, err := s.publicAccessAllowed(rq); err != nil {
			return err
		} else if !ok {
			return errPublicNotAllowed
		}
	}
	now := s.now().UTC()
	c := containerRecord{Name: rq.container, Created: now, Modified: now, ETag: s.etags.next(now), Metadata: meta, Public: public}
	if _, err := s.st.put(rq.ctx, containerKey(rq.acct, rq.container), &c, 0); err != nil {
		if isConflict(err) {
			return errContainerExists
		}
		return err
	}
	setCommon(rq.w.Header(), c.ETag, c.Modified)
	rq.w.WriteHeader(http.StatusCreated)
	return nil
}

func (s *Service) containerProperties(rq *req) error {
	if err := s.authorize(rq, "r", rq.containerRes(), "container"); err != nil {
		return err
	}
	c, _, err := s.getContainer(rq)
	if err != nil {
		return err
	}
	h := rq.w.Header()
	setCommon(h, c.ETag, c.Modified)
	wire.SetMetadata(h, c.Metadata)
	h.Set("x-ms-lease-status", "unlocked")
	h.Set("x-ms-lease-state", "available")
	h.Set("x-ms-has-immutability-policy", "false")
	h.Set("x-ms-has-legal-hold", "false")
	h.Set("x-ms-default-encryption-scope", "$account-encryption-key")
	h.Set("x-ms-deny-encryption-scope-override", "false")
	if c.Public != "" {
		h.Set("x-ms-blob-public-access", c.Public)
	}
	rq.w.WriteHeader(http.StatusOK)
	return nil
}

// containerConditions applies If-Modified-Since and If-Unmodified-Since,
// the conditions container operations accept.
func containerConditions(rq *req, c *containerRecord) error {
	cond, err := readConditions(rq.r)
	if err != nil {
		return err
	}
	if cond.IfMatch != "" || cond.IfNoneMatch != "" {
		return wire.Errorf(http.StatusBadRequest, "UnsupportedHeader", "One of the HTTP headers specified in the request is not supported: containers take only If-Modified-Since and If-Unmodified-Since.")
	}
	return cond.check(true, c.ETag, c.Modified, false)
}

func (s *Service) deleteContainer(rq *req) error {
	if err := s.authorize(rq, "d", rq.containerRes()); err != nil {
		return err
	}
	c, rev, err := s.getContainer(rq)
	if err != nil {
		return err
	}
	if err := containerConditions(rq, c); err != nil {
		return err
	}
	if err := s.st.del(rq.ctx, containerKey(rq.acct, rq.container), rev); err != nil {
		if isConflict(err) {
			return wire.Errorf(http.StatusConflict, "ContainerBeingDeleted", "The container changed while it was being deleted; try again.")
		}
		return err
	}
	// The container is gone; its blobs go with it.
	if err := s.purgeContainer(rq); err != nil {
		s.log.Warn("blob: purging a deleted container's blobs", "container", rq.container, "err", err)
	}
	rq.w.WriteHeader(http.StatusAccepted)
	return nil
}

// purgeContainer deletes the blobs and uncommitted blocks of a container.
func (s *Service) purgeContainer(rq *req) error {
	ctx := rq.ctx
	for _, filter := range []string{blobKeys(rq.acct, rq.container), allUncommittedKeys(rq.acct, rq.container), allStagingKeys(rq.acct, rq.container)} {
		keys, err := s.st.keys(ctx, filter)
		if err != nil {
			return err
		}
		for _, k := range keys {
			var blocks []block
			if strings.HasPrefix(k, "b.") {
				var b blobRecord
				if _, ok, err := s.st.get(ctx, k, &b); err == nil && ok {
					blocks = b.Blocks
				}
			} else if strings.HasPrefix(k, "u.") {
				var b block
				if _, ok, err := s.st.get(ctx, k, &b); err == nil && ok {
					blocks = []block{b}
				}
			}
			if err := s.st.kv.Purge(ctx, k); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
				return err
			}
			s.st.release(blocks, nil)
		}
	}
	return nil
}

// updateContainer changes a container record with a compare-and-set.
func (s *Service) updateContainer(rq *req, f func(c *containerRecord) error) (*containerRecord, error) {
	for try := 0; ; try++ {
		c, rev, err := s.getContainer(rq)
		if err != nil {
			return nil, err
		}
		if err := f(c); err != nil {
			return nil, err
		}
		now := s.now().UTC()
		c.Modified, c.ETag = now, s.etags.next(now)
		if _, err := s.st.put(rq.ctx, containerKey(rq.acct, rq.container), c, rev); err != nil {
			if isConflict(err) && try < casTries {
				continue
			}
			return nil, err
		}
		return c, nil
	}
}

func (s *Service) setContainerMetadata(rq *req) error {
	if err := s.authorize(rq, "w", rq.containerRes()); err != nil {
		return err
	}
	meta, err := readMetadata(rq.r.Header)
	if err != nil {
		return err
	}
	c, err := s.updateContainer(rq, func(c *containerRecord) error {
		if err := containerConditions(rq, c); err != nil {
			return err
		}
		c.Metadata = meta
		return nil
	})
	if err != nil {
		return err
	}
	setCommon(rq.w.Header(), c.ETag, c.Modified)
	rq.w.WriteHeader(http.StatusOK)
	return nil
}

// signedID is a stored access policy of a container ACL.
type signedID struct {
	ID     string `xml:"Id" json:"id"`
	Policy struct {
		Start      string `xml:"Start,omitempty" json:"start,omitempty"`
		Expiry     string `xml:"Expiry,omitempty" json:"expiry,omitempty"`
		Permission string `xml:"Permission,omitempty" json:"permission,omitempty"`
	} `xml:"AccessPolicy" json:"policy"`
}

type signedIDs struct {
	XMLName xml.Name   `xml:"SignedIdentifiers"`
	IDs     []signedID `xml:"SignedIdentifier"`
}

func (s *Service) setContainerACL(rq *req) error {
	if err := s.authorize(rq, "w", rq.containerRes()); err != nil {
		return err
	}
	public, err := parsePublicAccess(rq.r)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(io.LimitReader(rq.r.Body, 1<<20))
	if err != nil {
		return bodyError(err)
	}
	var ids signedIDs
	if len(bytes.TrimSpace(body)) > 0 {
		if err := xml.Unmarshal(body, &ids); err != nil {
			return wire.ErrInvalidXMLDocument
		}
		if len(ids.IDs) > 5 {
			return wire.Errorf(http.StatusBadRequest, "InvalidXmlDocument", "A container may have at most 5 stored access policies.")
		}
		for _, id := range ids.IDs {
			if id.ID == "" || len(id.ID) > 64 {
				return wire.Errorf(http.StatusBadRequest, "InvalidXmlDocument", "A signed identifier's Id must be 1 to 64 characters.")
			}
		}
	}
	if public != "" {
		if ok, err := s.publicAccessAllowed(rq); err != nil {
			return err
		} else if !ok {
			return errPublicNotAllowed
		}
	}
	c, err := s.updateContainer(rq, func(c *containerRecord) error {
		if err := containerConditions(rq, c); err != nil {
			return err
		}
		c.Public, c.Identifiers = public, ids.IDs
		return nil
	})
	if err != nil {
		return err
	}
	setCommon(rq.w.Header(), c.ETag, c.Modified)
	rq.w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Service) getContainerACL(rq *req) error {
	if err := s.authorize(rq, "r", rq.containerRes()); err != nil {
		return err
	}
	c, _, err := s.getContainer(rq)
	if err != nil {
		return err
	}
	h := rq.w.Header()
	setCommon(h, c.ETag, c.Modified)
	if c.Public != "" {
		h.Set("x-ms-blob-public-access", c.Public)
	}
	if rq.r.Method == http.MethodHead {
		rq.w.WriteHeader(http.StatusOK)
		return nil
	}
	return wire.WriteXML(rq.w, http.StatusOK, signedIDs{IDs: c.Identifiers})
}

// defaultServiceProperties is what Get Blob Service Properties answers
// before any Set.
const defaultServiceProperties = `<StorageServiceProperties><Logging><Version>1.0</Version><Delete>false</Delete><Read>false</Read><Write>false</Write><RetentionPolicy><Enabled>false</Enabled></RetentionPolicy></Logging><HourMetrics><Version>1.0</Version><Enabled>false</Enabled><RetentionPolicy><Enabled>false</Enabled></RetentionPolicy></HourMetrics><MinuteMetrics><Version>1.0</Version><Enabled>false</Enabled><RetentionPolicy><Enabled>false</Enabled></RetentionPolicy></MinuteMetrics><Cors /><DeleteRetentionPolicy><Enabled>false</Enabled></DeleteRetentionPolicy><StaticWebsite><Enabled>false</Enabled></StaticWebsite></StorageServiceProperties>`

func (s *Service) getServiceProperties(rq *req) error {
	if err := s.authorize(rq, "r", auth.Resource{Type: 's'}); err != nil {
		return err
	}
	body := defaultServiceProperties
	e, err := s.st.kv.Get(rq.ctx, propsKey(rq.acct))
	switch {
	case err == nil:
		body = string(e.Value())
	case !errors.Is(err, jetstream.ErrKeyNotFound):
		return err
	}
	h := rq.w.Header()
	h.Set("Content-Type", "application/xml")
	rq.w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(rq.w, xml.Header+body)
	return nil
}

func (s *Service) setServiceProperties(rq *req) error {
	if err := s.authorize(rq, "w", auth.Resource{Type: 's'}); err != nil {
		return err
	}
	body, err := io.ReadAll(io.LimitReader(rq.r.Body, 1<<20))
	if err != nil {
		return bodyError(err)
	}
	var probe struct {
		XMLName xml.Name `xml:"StorageServiceProperties"`
	}
	if err := xml.Unmarshal(body, &probe); err != nil {
		return wire.ErrInvalidXMLDocument
	}
	body = bytes.TrimSpace(body)
	if bytes.HasPrefix(body, []byte("<?xml")) {
		if i := bytes.Index(body, []byte("?>")); i >= 0 {
			body = bytes.TrimSpace(body[i+2:])
		}
	}
	if _, err := s.st.kv.Put(rq.ctx, propsKey(rq.acct), body); err != nil {
		return err
	}
	rq.w.WriteHeader(http.StatusAccepted)
	return nil
}

func (s *Service) accountInfo(rq *req) error {
	if err := s.authorize(rq, "r", auth.Resource{Type: 's'}); err != nil {
		return err
	}
	sku, kind := "Standard_LRS", "StorageV2"
	if rq.acct != account.DevAccount {
		rec, err := s.env.Accounts.Record(rq.ctx, rq.acct)
		if err != nil {
			return err
		}
		if rec.SKU != nil {
			sku = rec.SKU.Name
		}
		if rec.Kind != "" {
			kind = rec.Kind
		}
	}
	h := rq.w.Header()
	h.Set("x-ms-sku-name", sku)
	h.Set("x-ms-account-kind", kind)
	h.Set("x-ms-is-hns-enabled", "false")
	rq.w.WriteHeader(http.StatusOK)
	return nil
}

// timeRFC1123 formats a time for XML listings.
func timeRFC1123(t time.Time) string { return wire.FormatTime(t) }
