package blob

import (
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/lapisdev/lapis/internal/storage/auth"
	"github.com/lapisdev/lapis/internal/storage/wire"
)

func pathEscape(s string) string { return url.PathEscape(s) }

// maxResults reads maxresults (1 to 5000, default 5000).
func maxResults(rq *req) (int, error) {
	v := rq.query("maxresults")
	if v == "" {
		return 5000, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, wire.ErrInvalidQueryParameterValue.With("QueryParameterName", "maxresults").With("QueryParameterValue", v)
	}
	return min(n, 5000), nil
}

// includes reads the include= list.
func includes(rq *req) map[string]bool {
	m := map[string]bool{}
	for _, v := range rq.q["include"] {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(strings.ToLower(p)); p != "" {
				m[p] = true
			}
		}
	}
	return m
}

// xmlMetadata renders metadata as <Metadata><name>value</name>...</Metadata>.
type xmlMetadata map[string]string

func (m xmlMetadata) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := e.EncodeElement(m[k], xml.StartElement{Name: xml.Name{Local: k}}); err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}

type containerItem struct {
	Name       string `xml:"Name"`
	Properties struct {
		LastModified string `xml:"Last-Modified"`
		ETag         string `xml:"Etag"`
		LeaseStatus  string `xml:"LeaseStatus"`
		LeaseState   string `xml:"LeaseState"`
		PublicAccess string `xml:"PublicAccess,omitempty"`
		HasImmut     bool   `xml:"HasImmutabilityPolicy"`
		HasLegalHold bool   `xml:"HasLegalHold"`
	} `xml:"Properties"`
	Metadata *xmlMetadata `xml:"Metadata,omitempty"`
}

type containerList struct {
	XMLName         xml.Name `xml:"EnumerationResults"`
	ServiceEndpoint string   `xml:"ServiceEndpoint,attr"`
	Prefix          string   `xml:"Prefix,omitempty"`
	Marker          string   `xml:"Marker,omitempty"`
	MaxResults      int      `xml:"MaxResults,omitempty"`
	Containers      struct {
		Items []containerItem `xml:"Container"`
	} `xml:"Containers"`
	NextMarker string `xml:"NextMarker"`
}

// names decodes the names in keys, reading the records of hashed ones.
func (s *Service) names(rq *req, keys []string, rec func(key string) (string, error)) ([]string, map[string]string, error) {
	out := make([]string, 0, len(keys))
	byName := make(map[string]string, len(keys))
	for _, k := range keys {
		n, ok := lastToken(k)
		if !ok {
			var err error
			if n, err = rec(k); err != nil {
				return nil, nil, err
			}
			if n == "" {
				continue
			}
		}
		out = append(out, n)
		byName[n] = k
	}
	slices.Sort(out)
	return out, byName, nil
}

func (s *Service) listContainers(rq *req) error {
	if err := s.authorize(rq, "l", auth.Resource{Type: 's'}); err != nil {
		return err
	}
	maxN, err := maxResults(rq)
	if err != nil {
		return err
	}
	prefix, marker := rq.query("prefix"), rq.query("marker")
	inc := includes(rq)
	keys, err := s.st.keys(rq.ctx, containerKeys(rq.acct))
	if err != nil {
		return err
	}
	names, byName, err := s.names(rq, keys, func(k string) (string, error) {
		var c containerRecord
		_, _, err := s.st.get(rq.ctx, k, &c)
		return c.Name, err
	})
	if err != nil {
		return err
	}
	out := containerList{ServiceEndpoint: s.URL(rq.acct, "", "") + "/", Prefix: prefix, Marker: marker}
	if rq.query("maxresults") != "" {
		out.MaxResults = maxN
	}
	for _, n := range names {
		if !strings.HasPrefix(n, prefix) || n < marker {
			continue
		}
		if len(out.Containers.Items) == maxN {
			out.NextMarker = n
			break
		}
		var c containerRecord
		_, ok, err := s.st.get(rq.ctx, byName[n], &c)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		item := containerItem{Name: n}
		item.Properties.LastModified = timeRFC1123(c.Modified)
		item.Properties.ETag = c.ETag
		item.Properties.LeaseStatus, item.Properties.LeaseState = "unlocked", "available"
		item.Properties.PublicAccess = c.Public
		if inc["metadata"] {
			m := xmlMetadata(c.Metadata)
			item.Metadata = &m
		}
		out.Containers.Items = append(out.Containers.Items, item)
	}
	return wire.WriteXML(rq.w, http.StatusOK, out)
}

type blobProps struct {
	CreationTime       string `xml:"Creation-Time"`
	LastModified       string `xml:"Last-Modified"`
	ETag               string `xml:"Etag"`
	ContentLength      int64  `xml:"Content-Length"`
	ContentType        string `xml:"Content-Type"`
	ContentEncoding    string `xml:"Content-Encoding"`
	ContentLanguage    string `xml:"Content-Language"`
	ContentMD5         string `xml:"Content-MD5"`
	ContentDisposition string `xml:"Content-Disposition"`
	CacheControl       string `xml:"Cache-Control"`
	BlobType           string `xml:"BlobType"`
	AccessTier         string `xml:"AccessTier,omitempty"`
	AccessTierInferred bool   `xml:"AccessTierInferred,omitempty"`
	LeaseStatus        string `xml:"LeaseStatus"`
	LeaseState         string `xml:"LeaseState"`
	ServerEncrypted    bool   `xml:"ServerEncrypted"`
	CopyID             string `xml:"CopyId,omitempty"`
	CopyStatus         string `xml:"CopyStatus,omitempty"`
	CopySource         string `xml:"CopySource,omitempty"`
	CopyProgress       string `xml:"CopyProgress,omitempty"`
	CopyCompletionTime string `xml:"CopyCompletionTime,omitempty"`
	Sealed             *bool  `xml:"Sealed,omitempty"`
}

type blobItem struct {
	XMLName    xml.Name     `xml:"Blob"`
	Name       string       `xml:"Name"`
	Properties blobProps    `xml:"Properties"`
	Metadata   *xmlMetadata `xml:"Metadata,omitempty"`
}

type blobPrefix struct {
	XMLName xml.Name `xml:"BlobPrefix"`
	Name    string   `xml:"Name"`
}

type blobList struct {
	XMLName         xml.Name `xml:"EnumerationResults"`
	ServiceEndpoint string   `xml:"ServiceEndpoint,attr"`
	ContainerName   string   `xml:"ContainerName,attr"`
	Prefix          string   `xml:"Prefix,omitempty"`
	Marker          string   `xml:"Marker,omitempty"`
	MaxResults      int      `xml:"MaxResults,omitempty"`
	Delimiter       string   `xml:"Delimiter,omitempty"`
	Blobs           struct {
		Items []any
	} `xml:"Blobs"`
	NextMarker string `xml:"NextMarker"`
}

func (b *blobRecord) props() blobProps {
	p := blobProps{
		CreationTime:       timeRFC1123(b.Created),
		LastModified:       timeRFC1123(b.Modified),
		ETag:               b.ETag,
		ContentLength:      b.Size,
		ContentType:        b.Headers.ContentType,
		ContentEncoding:    b.Headers.ContentEncoding,
		ContentLanguage:    b.Headers.ContentLanguage,
		ContentDisposition: b.Headers.ContentDisposition,
		CacheControl:       b.Headers.CacheControl,
		BlobType:           b.Type,
		LeaseStatus:        "unlocked",
		LeaseState:         "available",
		ServerEncrypted:    true,
	}
	if len(b.Headers.ContentMD5) > 0 {
		p.ContentMD5 = base64.StdEncoding.EncodeToString(b.Headers.ContentMD5)
	}
	if b.Type == blockBlob {
		p.AccessTier, p.AccessTierInferred = "Hot", true
	}
	if b.Type == appendBlob {
		f := false
		p.Sealed = &f
	}
	if c := b.Copy; c != nil {
		p.CopyID, p.CopyStatus, p.CopySource, p.CopyProgress = c.ID, c.Status, c.Source, c.Progress
		p.CopyCompletionTime = timeRFC1123(c.Completed)
	}
	return p
}

func (s *Service) listBlobs(rq *req) error {
	if err := s.authorize(rq, "l", rq.containerRes(), "container"); err != nil {
		return err
	}
	maxN, err := maxResults(rq)
	if err != nil {
		return err
	}
	if _, _, err := s.getContainer(rq); err != nil {
		return err
	}
	prefix, marker, delim := rq.query("prefix"), rq.query("marker"), rq.query("delimiter")
	inc := includes(rq)
	keys, err := s.st.keys(rq.ctx, blobKeys(rq.acct, rq.container))
	if err != nil {
		return err
	}
	names, byName, err := s.names(rq, keys, func(k string) (string, error) {
		var b blobRecord
		_, _, err := s.st.get(rq.ctx, k, &b)
		return b.Name, err
	})
	if err != nil {
		return err
	}
	out := blobList{ServiceEndpoint: s.URL(rq.acct, "", "") + "/", ContainerName: rq.container,
		Prefix: prefix, Marker: marker, Delimiter: delim}
	if rq.query("maxresults") != "" {
		out.MaxResults = maxN
	}
	lastPrefix := ""
	for _, n := range names {
		if !strings.HasPrefix(n, prefix) {
			continue
		}
		entry, isPrefix := n, false
		if delim != "" {
			if i := strings.Index(n[len(prefix):], delim); i >= 0 {
				entry, isPrefix = n[:len(prefix)+i+len(delim)], true
			}
		}
		if entry < marker || isPrefix && entry == lastPrefix {
			continue
		}
		if len(out.Blobs.Items) == maxN {
			out.NextMarker = entry
			break
		}
		if isPrefix {
			lastPrefix = entry
			out.Blobs.Items = append(out.Blobs.Items, blobPrefix{Name: entry})
			continue
		}
		var b blobRecord
		_, ok, err := s.st.get(rq.ctx, byName[n], &b)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		item := blobItem{Name: n, Properties: b.props()}
		if inc["metadata"] {
			m := xmlMetadata(b.Metadata)
			item.Metadata = &m
		}
		out.Blobs.Items = append(out.Blobs.Items, item)
	}
	return wire.WriteXML(rq.w, http.StatusOK, out)
}
