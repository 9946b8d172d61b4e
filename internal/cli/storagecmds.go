package cli

import (
	"fmt"
	"os"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
	"github.com/spf13/cobra"
)

// The storage data commands talk to the Blob and Queue services with the
// real Azure SDK clients, as az does.

func newContainerCmd(g *globals) *cobra.Command {
	cmd := noun("container", "Manage blob containers")
	cmd.AddCommand(
		dataCmd(g, "create", "Create a container", "  lapis storage container create -n images --account-name devstoreaccount1",
			func(c *cobra.Command, d *dataFlags, v *dataVals) error {
				cl, err := d.blobClient(c.Context(), g)
				if err != nil {
					return err
				}
				md, err := parseMetadata(v.metadata)
				if err != nil {
					return err
				}
				opts := &azblob.CreateContainerOptions{Metadata: md}
				if v.publicAccess != "" && v.publicAccess != "off" {
					opts.Access = to.Ptr(container.PublicAccessType(v.publicAccess))
				}
				_, err = cl.CreateContainer(c.Context(), v.name, opts)
				if err != nil {
					if e := storageError(err); isCode(e, "ContainerAlreadyExists") && !v.failOnExist {
						return g.print(map[string]any{"created": false})
					}
					return storageError(err)
				}
				return g.print(map[string]any{"created": true})
			}, withName("container"), withPublicAccess, withMetadata, withFailOnExist),
		dataCmd(g, "delete", "Delete a container and its blobs", "  lapis storage container delete -n images --account-name devstoreaccount1",
			func(c *cobra.Command, d *dataFlags, v *dataVals) error {
				cl, err := d.blobClient(c.Context(), g)
				if err != nil {
					return err
				}
				_, err = cl.DeleteContainer(c.Context(), v.name, nil)
				return printDeleted(g, err, "ContainerNotFound")
			}, withName("container")),
		dataCmd(g, "show", "Show a container's properties and metadata", "  lapis storage container show -n images --account-name devstoreaccount1",
			func(c *cobra.Command, d *dataFlags, v *dataVals) error {
				cl, err := d.blobClient(c.Context(), g)
				if err != nil {
					return err
				}
				p, err := cl.ServiceClient().NewContainerClient(v.name).GetProperties(c.Context(), nil)
				if err != nil {
					return storageError(err)
				}
				return g.print(map[string]any{"name": v.name, "metadata": lowerKeys(p.Metadata), "properties": map[string]any{
					"etag": deref(p.ETag), "lastModified": timeString(p.LastModified), "publicAccess": deref(p.BlobPublicAccess),
					"leaseStatus": deref(p.LeaseStatus), "leaseState": deref(p.LeaseState)}})
			}, withName("container")),
		dataCmd(g, "list", "List containers", "  lapis storage container list --account-name devstoreaccount1 -o table",
			func(c *cobra.Command, d *dataFlags, v *dataVals) error {
				cl, err := d.blobClient(c.Context(), g)
				if err != nil {
					return err
				}
				out := []any{}
				pager := cl.NewListContainersPager(&azblob.ListContainersOptions{Prefix: nonEmpty(v.prefix),
					Include: azblob.ListContainersInclude{Metadata: true}})
				for pager.More() && (v.num <= 0 || len(out) < v.num) {
					page, err := pager.NextPage(c.Context())
					if err != nil {
						return storageError(err)
					}
					for _, it := range page.ContainerItems {
						p := it.Properties
						out = append(out, map[string]any{"name": deref(it.Name), "metadata": lowerKeys(it.Metadata), "properties": map[string]any{
							"etag": deref(p.ETag), "lastModified": timeString(p.LastModified), "publicAccess": deref(p.PublicAccess)}})
					}
				}
				if v.num > 0 && len(out) > v.num {
					out = out[:v.num]
				}
				return g.printTable(out, "[].{Name:name, LastModified:properties.lastModified, PublicAccess:properties.publicAccess}")
			}, withPrefix, withNum),
	)
	return cmd
}

func newBlobCmd(g *globals) *cobra.Command {
	cmd := noun("blob", "Upload, download and manage blobs")
	cmd.AddCommand(
		dataCmd(g, "upload", "Upload a file as a block blob", "  lapis storage blob upload -c images -n cat.png -f ./cat.png --account-name devstoreaccount1",
			func(c *cobra.Command, d *dataFlags, v *dataVals) error {
				if v.file == "" {
					return usagef("the following arguments are required: --file/-f")
				}
				cl, err := d.blobClient(c.Context(), g)
				if err != nil {
					return err
				}
				f, err := os.Open(v.file)
				if err != nil {
					return err
				}
				defer f.Close()
				fi, err := f.Stat()
				if err != nil {
					return err
				}
				name := v.name
				if name == "" {
					name = fi.Name()
				}
				md, err := parseMetadata(v.metadata)
				if err != nil {
					return err
				}
				bar := newProgress(g, "Uploading", fi.Size())
				opts := &azblob.UploadFileOptions{Metadata: md, Progress: bar.update, BlockSize: 4 << 20, Concurrency: 4}
				if v.contentType != "" {
					opts.HTTPHeaders = &blob.HTTPHeaders{BlobContentType: &v.contentType}
				}
				if !v.overwrite {
					opts.AccessConditions = &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny)}}
				}
				resp, err := cl.UploadFile(c.Context(), v.container, name, f, opts)
				bar.finish()
				if err != nil {
					if e := storageError(err); isCode(e, "BlobAlreadyExists") || isCode(e, "ConditionNotMet") {
						return fmt.Errorf("the blob %s already exists; pass --overwrite to replace it", name)
					}
					return storageError(err)
				}
				return g.print(map[string]any{"etag": deref(resp.ETag), "lastModified": timeString(resp.LastModified),
					"contentMd5": resp.ContentMD5, "requestId": deref(resp.RequestID), "version": deref(resp.Version)})
			}, withContainer, withName("blob"), withFile, withOverwrite, withContentType, withMetadata),
		dataCmd(g, "download", "Download a blob to a file", "  lapis storage blob download -c images -n cat.png -f ./copy.png --account-name devstoreaccount1",
			func(c *cobra.Command, d *dataFlags, v *dataVals) error {
				if v.file == "" {
					return usagef("the following arguments are required: --file/-f")
				}
				cl, err := d.blobClient(c.Context(), g)
				if err != nil {
					return err
				}
				bc := cl.ServiceClient().NewContainerClient(v.container).NewBlobClient(v.name)
				props, err := bc.GetProperties(c.Context(), nil)
				if err != nil {
					return storageError(err)
				}
				f, err := os.Create(v.file)
				if err != nil {
					return err
				}
				defer f.Close()
				bar := newProgress(g, "Downloading", deref64(props.ContentLength))
				_, err = bc.DownloadFile(c.Context(), f, &blob.DownloadFileOptions{Progress: bar.update, BlockSize: 4 << 20, Concurrency: 4})
				bar.finish()
				if err != nil {
					return storageError(err)
				}
				return g.print(blobProps(v.container, v.name, props))
			}, withContainer, withName("blob"), withFile),
		dataCmd(g, "show", "Show a blob's properties and metadata", "  lapis storage blob show -c images -n cat.png --account-name devstoreaccount1",
			func(c *cobra.Command, d *dataFlags, v *dataVals) error {
				cl, err := d.blobClient(c.Context(), g)
				if err != nil {
					return err
				}
				props, err := cl.ServiceClient().NewContainerClient(v.container).NewBlobClient(v.name).GetProperties(c.Context(), nil)
				if err != nil {
					return storageError(err)
				}
				return g.print(blobProps(v.container, v.name, props))
			}, withContainer, withName("blob")),
		dataCmd(g, "delete", "Delete a blob", "  lapis storage blob delete -c images -n cat.png --account-name devstoreaccount1",
			func(c *cobra.Command, d *dataFlags, v *dataVals) error {
				cl, err := d.blobClient(c.Context(), g)
				if err != nil {
					return err
				}
				if _, err := cl.DeleteBlob(c.Context(), v.container, v.name, nil); err != nil {
					return storageError(err)
				}
				return nil
			}, withContainer, withName("blob")),
		dataCmd(g, "list", "List blobs", "  lapis storage blob list -c images --prefix 2024/ --account-name devstoreaccount1 -o table",
			func(c *cobra.Command, d *dataFlags, v *dataVals) error {
				cl, err := d.blobClient(c.Context(), g)
				if err != nil {
					return err
				}
				out := []any{}
				pager := cl.NewListBlobsFlatPager(v.container, &azblob.ListBlobsFlatOptions{Prefix: nonEmpty(v.prefix),
					Include: azblob.ListBlobsInclude{Metadata: true}})
				for pager.More() && (v.num <= 0 || len(out) < v.num) {
					page, err := pager.NextPage(c.Context())
					if err != nil {
						return storageError(err)
					}
					for _, it := range page.Segment.BlobItems {
						p := it.Properties
						out = append(out, map[string]any{"name": deref(it.Name), "metadata": lowerKeys(it.Metadata), "properties": map[string]any{
							"blobType": deref(p.BlobType), "contentLength": deref(p.ContentLength), "etag": deref(p.ETag),
							"lastModified": timeString(p.LastModified), "contentSettings": map[string]any{"contentType": deref(p.ContentType)}}})
					}
				}
				if v.num > 0 && len(out) > v.num {
					out = out[:v.num]
				}
				return g.printTable(out, "[].{Name:name, BlobType:properties.blobType, Length:properties.contentLength, ContentType:properties.contentSettings.contentType, LastModified:properties.lastModified}")
			}, withContainer, withPrefix, withNum),
	)
	return cmd
}

func blobProps(containerName, name string, p blob.GetPropertiesResponse) map[string]any {
	return map[string]any{"container": containerName, "name": name, "metadata": lowerKeys(p.Metadata), "properties": map[string]any{
		"blobType": deref(p.BlobType), "contentLength": deref(p.ContentLength), "etag": deref(p.ETag),
		"lastModified": timeString(p.LastModified), "creationTime": timeString(p.CreationTime),
		"contentSettings": map[string]any{"contentType": deref(p.ContentType), "contentEncoding": deref(p.ContentEncoding),
			"contentLanguage": deref(p.ContentLanguage), "contentDisposition": deref(p.ContentDisposition),
			"cacheControl": deref(p.CacheControl), "contentMd5": p.ContentMD5}}}
}

func newQueueCmd(g *globals) *cobra.Command {
	cmd := noun("queue", "Manage storage queues")
	cmd.AddCommand(
		dataCmd(g, "create", "Create a queue", "  lapis storage queue create -n orders --account-name devstoreaccount1",
			func(c *cobra.Command, d *dataFlags, v *dataVals) error {
				sc, err := d.queueService(c.Context(), g)
				if err != nil {
					return err
				}
				md, err := parseMetadata(v.metadata)
				if err != nil {
					return err
				}
				// The service answers 204 to a create of an existing queue with
				// the same metadata, which the SDK reports as success: ask first.
				if _, err := sc.NewQueueClient(v.name).GetProperties(c.Context(), nil); err == nil {
					if v.failOnExist {
						return &apiError{Status: 409, Code: "QueueAlreadyExists", Message: "The specified queue already exists."}
					}
					return g.print(map[string]any{"created": false})
				}
				if _, err := sc.CreateQueue(c.Context(), v.name, &azqueue.CreateOptions{Metadata: md}); err != nil {
					if e := storageError(err); isCode(e, "QueueAlreadyExists") && !v.failOnExist {
						return g.print(map[string]any{"created": false})
					}
					return storageError(err)
				}
				return g.print(map[string]any{"created": true})
			}, withName("queue"), withMetadata, withFailOnExist),
		dataCmd(g, "delete", "Delete a queue", "  lapis storage queue delete -n orders --account-name devstoreaccount1",
			func(c *cobra.Command, d *dataFlags, v *dataVals) error {
				sc, err := d.queueService(c.Context(), g)
				if err != nil {
					return err
				}
				_, err = sc.DeleteQueue(c.Context(), v.name, nil)
				return printDeleted(g, err, "QueueNotFound")
			}, withName("queue")),
		dataCmd(g, "list", "List queues", "  lapis storage queue list --account-name devstoreaccount1 -o table",
			func(c *cobra.Command, d *dataFlags, v *dataVals) error {
				sc, err := d.queueService(c.Context(), g)
				if err != nil {
					return err
				}
				out := []any{}
				pager := sc.NewListQueuesPager(&azqueue.ListQueuesOptions{Prefix: nonEmpty(v.prefix), Include: azqueue.ListQueuesInclude{Metadata: true}})
				for pager.More() {
					page, err := pager.NextPage(c.Context())
					if err != nil {
						return storageError(err)
					}
					for _, q := range page.Queues {
						out = append(out, map[string]any{"name": deref(q.Name), "metadata": lowerKeys(q.Metadata)})
					}
				}
				return g.printTable(out, "[].{Name:name}")
			}, withPrefix),
	)
	return cmd
}

func newMessageCmd(g *globals) *cobra.Command {
	cmd := noun("message", "Put, get, peek, delete and clear queue messages")
	queue := func(c *cobra.Command, d *dataFlags, v *dataVals) (*azqueue.QueueClient, error) {
		sc, err := d.queueService(c.Context(), g)
		if err != nil {
			return nil, err
		}
		return sc.NewQueueClient(v.queue), nil
	}
	cmd.AddCommand(
		dataCmd(g, "put", "Add a message to a queue", `  lapis storage message put -q orders --content '{"orderId":"1"}' --account-name devstoreaccount1`,
			func(c *cobra.Command, d *dataFlags, v *dataVals) error {
				if !c.Flags().Changed("content") {
					return usagef("the following arguments are required: --content")
				}
				qc, err := queue(c, d, v)
				if err != nil {
					return err
				}
				opts := &azqueue.EnqueueMessageOptions{}
				if v.visibility >= 0 {
					opts.VisibilityTimeout = to.Ptr(int32(v.visibility))
				}
				if v.ttl != 0 {
					opts.TimeToLive = to.Ptr(int32(v.ttl))
				}
				resp, err := qc.EnqueueMessage(c.Context(), v.content, opts)
				if err != nil {
					return storageError(err)
				}
				if len(resp.Messages) == 0 {
					return nil
				}
				m := resp.Messages[0]
				return g.print(map[string]any{"id": deref(m.MessageID), "popReceipt": deref(m.PopReceipt), "insertionTime": timeString(m.InsertionTime),
					"expirationTime": timeString(m.ExpirationTime), "timeNextVisible": timeString(m.TimeNextVisible), "content": v.content})
			}, withQueue, withContent, withVisibility, withTTL),
		dataCmd(g, "get", "Take messages from a queue (they turn invisible)", "  lapis storage message get -q orders --num-messages 5 --account-name devstoreaccount1",
			func(c *cobra.Command, d *dataFlags, v *dataVals) error {
				qc, err := queue(c, d, v)
				if err != nil {
					return err
				}
				opts := &azqueue.DequeueMessagesOptions{NumberOfMessages: to.Ptr(int32(max(v.num, 1)))}
				if v.visibility >= 0 {
					opts.VisibilityTimeout = to.Ptr(int32(v.visibility))
				}
				resp, err := qc.DequeueMessages(c.Context(), opts)
				if err != nil {
					return storageError(err)
				}
				out := []any{}
				for _, m := range resp.Messages {
					out = append(out, map[string]any{"id": deref(m.MessageID), "content": deref(m.MessageText), "dequeueCount": deref(m.DequeueCount),
						"popReceipt": deref(m.PopReceipt), "insertionTime": timeString(m.InsertionTime), "expirationTime": timeString(m.ExpirationTime),
						"timeNextVisible": timeString(m.TimeNextVisible)})
				}
				return g.print(out)
			}, withQueue, withNum, withVisibility),
		dataCmd(g, "peek", "Look at messages without taking them", "  lapis storage message peek -q orders --account-name devstoreaccount1",
			func(c *cobra.Command, d *dataFlags, v *dataVals) error {
				qc, err := queue(c, d, v)
				if err != nil {
					return err
				}
				resp, err := qc.PeekMessages(c.Context(), &azqueue.PeekMessagesOptions{NumberOfMessages: to.Ptr(int32(max(v.num, 1)))})
				if err != nil {
					return storageError(err)
				}
				out := []any{}
				for _, m := range resp.Messages {
					out = append(out, map[string]any{"id": deref(m.MessageID), "content": deref(m.MessageText), "dequeueCount": deref(m.DequeueCount),
						"insertionTime": timeString(m.InsertionTime), "expirationTime": timeString(m.ExpirationTime)})
				}
				return g.print(out)
			}, withQueue, withNum),
		dataCmd(g, "delete", "Delete a message by id and pop receipt", "  lapis storage message delete -q orders --id <id> --pop-receipt <receipt> --account-name devstoreaccount1",
			func(c *cobra.Command, d *dataFlags, v *dataVals) error {
				if v.id == "" || v.popReceipt == "" {
					return usagef("the following arguments are required: --id, --pop-receipt")
				}
				qc, err := queue(c, d, v)
				if err != nil {
					return err
				}
				if _, err := qc.DeleteMessage(c.Context(), v.id, v.popReceipt, nil); err != nil {
					return storageError(err)
				}
				return nil
			}, withQueue, withMessageID),
		dataCmd(g, "clear", "Delete every message of a queue", "  lapis storage message clear -q orders --account-name devstoreaccount1",
			func(c *cobra.Command, d *dataFlags, v *dataVals) error {
				qc, err := queue(c, d, v)
				if err != nil {
					return err
				}
				if _, err := qc.ClearMessages(c.Context(), nil); err != nil {
					return storageError(err)
				}
				return nil
			}, withQueue),
	)
	return cmd
}

// dataVals are the values of the storage data commands' own flags.
type dataVals struct {
	name, container, queue, file, contentType, prefix, publicAccess, content, id, popReceipt string
	metadata                                                                                 []string
	num, visibility, ttl                                                                     int
	overwrite, failOnExist                                                                   bool
}

type dataOpt func(cmd *cobra.Command, v *dataVals)

// dataCmd builds one storage data command with the account flags and the
// given options.
func dataCmd(g *globals, use, short, example string, run func(*cobra.Command, *dataFlags, *dataVals) error, opts ...dataOpt) *cobra.Command {
	var d dataFlags
	v := &dataVals{visibility: -1}
	cmd := &cobra.Command{Use: use, Short: short, Example: example, Args: cobra.ArbitraryArgs,
		RunE: func(c *cobra.Command, args []string) error {
			more, err := restArgs(c, args, "metadata")
			if err != nil {
				return err
			}
			v.metadata = append(v.metadata, more...)
			if f := c.Flags().Lookup("name"); f != nil && f.Annotations["required"] != nil && v.name == "" {
				return usagef("the following arguments are required: --name/-n")
			}
			if c.Flags().Lookup("container-name") != nil && v.container == "" {
				return usagef("the following arguments are required: --container-name/-c")
			}
			if c.Flags().Lookup("queue-name") != nil && v.queue == "" {
				return usagef("the following arguments are required: --queue-name/-q")
			}
			return run(c, &d, v)
		}}
	d.add(cmd)
	for _, o := range opts {
		o(cmd, v)
	}
	return cmd
}

func withName(what string) dataOpt {
	return func(cmd *cobra.Command, v *dataVals) {
		cmd.Flags().StringVarP(&v.name, "name", "n", "", what+" name")
		if what != "blob" || cmd.Use != "upload" {
			_ = cmd.Flags().SetAnnotation("name", "required", []string{"true"})
		}
	}
}

func withContainer(cmd *cobra.Command, v *dataVals) {
	cmd.Flags().StringVarP(&v.container, "container-name", "c", "", "container name")
}

func withQueue(cmd *cobra.Command, v *dataVals) {
	cmd.Flags().StringVarP(&v.queue, "queue-name", "q", "", "queue name")
}

func withFile(cmd *cobra.Command, v *dataVals) {
	cmd.Flags().StringVarP(&v.file, "file", "f", "", "local file path")
}

func withOverwrite(cmd *cobra.Command, v *dataVals) {
	cmd.Flags().BoolVar(&v.overwrite, "overwrite", false, "replace the blob if it exists")
}

func withContentType(cmd *cobra.Command, v *dataVals) {
	cmd.Flags().StringVar(&v.contentType, "content-type", "", "the blob's Content-Type")
}

func withMetadata(cmd *cobra.Command, v *dataVals) {
	cmd.Flags().StringArrayVar(&v.metadata, "metadata", nil, "space-separated metadata: key=value [key=value ...]")
}

func withPublicAccess(cmd *cobra.Command, v *dataVals) {
	cmd.Flags().StringVar(&v.publicAccess, "public-access", "", "anonymous read access: off, blob or container")
}

func withFailOnExist(cmd *cobra.Command, v *dataVals) {
	cmd.Flags().BoolVar(&v.failOnExist, "fail-on-exist", false, "fail if it already exists")
}

func withPrefix(cmd *cobra.Command, v *dataVals) {
	cmd.Flags().StringVar(&v.prefix, "prefix", "", "only names that start with this")
}

func withNum(cmd *cobra.Command, v *dataVals) {
	name := "num-results"
	if cmd.Use == "get" || cmd.Use == "peek" {
		name = "num-messages"
	}
	cmd.Flags().IntVar(&v.num, name, 0, "how many at most")
}

func withContent(cmd *cobra.Command, v *dataVals) {
	cmd.Flags().StringVar(&v.content, "content", "", "message text")
}

func withVisibility(cmd *cobra.Command, v *dataVals) {
	cmd.Flags().IntVar(&v.visibility, "visibility-timeout", -1, "seconds the message stays invisible")
}

func withTTL(cmd *cobra.Command, v *dataVals) {
	cmd.Flags().IntVar(&v.ttl, "time-to-live", 0, "seconds the message lives (-1: forever; default 7 days)")
}

func withMessageID(cmd *cobra.Command, v *dataVals) {
	cmd.Flags().StringVar(&v.id, "id", "", "message id")
	cmd.Flags().StringVar(&v.popReceipt, "pop-receipt", "", "pop receipt from message get")
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref64(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// printDeleted prints az's {"deleted": true|false} for a delete whose
// error is err; a missing thing (notFound) is not an error, as in az.
func printDeleted(g *globals, err error, notFound string) error {
	if err != nil {
		if e := storageError(err); !isCode(e, notFound) {
			return e
		}
	}
	return g.print(map[string]any{"deleted": err == nil})
}

func isCode(err error, code string) bool {
	ae, ok := err.(*apiError)
	return ok && ae.Code == code
}
