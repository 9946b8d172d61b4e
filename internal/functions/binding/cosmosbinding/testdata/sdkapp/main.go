// Command sdkapp is a Go SDK function app for the Cosmos DB bindings' end-to-end tests. Its Cosmos DB functions
// append a line per invocation to the file the app setting RECORD_FILE names (so that failed invocations are seen
// too), with the app setting HOST_TAG, and its HTTP functions write and read documents through cosmosDB bindings.
//
//	changes  cosmosDBTrigger on testdb/items: records the batch, writes one audit document per change to
//	         testdb/audit, and fails when a document has "fail": true
//	flaky    cosmosDBTrigger on testdb/flaky with a fixedDelay retry policy: fails while the attempt's RetryCount
//	         is below the document's "failTimes"
//	write    POST /api/write/{container}: upserts the body (a document or an array of them) into testdb/{container}
//	byid     GET /api/byid/{pk}/{id}: the document of testdb/people with that id and partition key
//	find     GET /api/find/{id}: the document of testdb/people with that id, in any partition
//	query    GET /api/query/{city}: SELECT c.id FROM c WHERE c.city = {city} over testdb/people
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/lapisdev/lapis/sdk/fn"
)

type change struct {
	ID        string `json:"id"`
	LSN       int64  `json:"_lsn"`
	Fail      bool   `json:"fail"`
	FailTimes int    `json:"failTimes"`
}

var recordMu sync.Mutex

// record appends one line saying what an invocation got.
func record(ctx *fn.Context, docs []change) error {
	line := map[string]any{"fn": ctx.FunctionName, "host": os.Getenv("HOST_TAG")}
	var ids []string
	var lsns []int64
	for _, d := range docs {
		ids, lsns = append(ids, d.ID), append(lsns, d.LSN)
	}
	line["ids"], line["lsns"] = ids, lsns
	if rc, ok := ctx.RetryContext(); ok {
		line["retry"] = rc.RetryCount
	}
	b, err := json.Marshal(line)
	if err != nil {
		return err
	}
	recordMu.Lock()
	defer recordMu.Unlock()
	f, err := os.OpenFile(os.Getenv("RECORD_FILE"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.Write(append(b, '\n'))
	return err
}

func main() {
	app := fn.NewApp()
	conn := fn.Connection("CosmosConn")

	app.CosmosDB("changes", "testdb", "items", func(ctx *fn.Context, docs fn.Documents) error {
		var changes []change
		if err := docs.Decode(&changes); err != nil {
			return err
		}
		if err := record(ctx, changes); err != nil {
			return err
		}
		for _, c := range changes {
			if c.Fail {
				return fmt.Errorf("document %s fails on purpose", c.ID)
			}
			ctx.PutDocument("audit", map[string]any{"id": fmt.Sprintf("%s-%d", c.ID, c.LSN), "of": c.ID})
		}
		return nil
	}, conn, fn.CreateLeaseContainerIfNotExists(),
		fn.TriggerProp("maxItemsPerInvocation", "%MAX_ITEMS%"),
		fn.TriggerProp("startFromBeginning", "%FROM_BEGINNING%"),
		fn.TriggerProp("feedPollDelay", "%FEED_POLL_MS%"),
		fn.TriggerProp("leaseAcquireInterval", "%LEASE_ACQUIRE_MS%"),
		fn.CosmosDBOutput("audit", "testdb", "audit", conn, fn.CreateIfNotExists()))

	app.CosmosDB("flaky", "testdb", "flaky", func(ctx *fn.Context, docs fn.Documents) error {
		var changes []change
		if err := docs.Decode(&changes); err != nil {
			return err
		}
		if err := record(ctx, changes); err != nil {
			return err
		}
		rc, _ := ctx.RetryContext()
		for _, c := range changes {
			if rc.RetryCount < c.FailTimes {
				return errors.New("not yet")
			}
		}
		return nil
	}, conn, fn.LeaseContainer("leases"), fn.CreateLeaseContainerIfNotExists(), fn.TriggerProp("leaseContainerPrefix", "flaky-"),
		fn.TriggerProp("feedPollDelay", "%FEED_POLL_MS%"),
		fn.Retry(fn.FixedDelay(2, 50*time.Millisecond)))

	app.HTTP("write", fn.Route("write/{container}"), fn.Methods("POST"), fn.AuthLevel(fn.Anonymous),
		func(ctx *fn.Context, req *fn.HTTPRequest) (*fn.HTTPResponse, error) {
			var docs []json.RawMessage
			if json.Unmarshal(req.Body, &docs) != nil {
				docs = []json.RawMessage{req.Body}
			}
			for _, d := range docs {
				ctx.PutDocument("out", d)
			}
			return fn.JSON(200, map[string]int{"written": len(docs)}), nil
		}, fn.CosmosDBOutput("out", "testdb", "{container}", conn, fn.CreateIfNotExists(), fn.PartitionKey("/pk")))

	lookup := func(ctx *fn.Context, req *fn.HTTPRequest) (*fn.HTTPResponse, error) {
		var doc json.RawMessage
		if err := ctx.Input("doc", &doc); err != nil {
			return nil, err
		}
		return fn.JSON(200, doc), nil
	}
	app.HTTP("byid", fn.Route("byid/{pk}/{id}"), fn.Methods("GET"), fn.AuthLevel(fn.Anonymous), lookup,
		fn.CosmosDBInput("doc", "testdb", "people", conn, fn.DocumentID("{id}"), fn.PartitionKey("{pk}")))
	app.HTTP("find", fn.Route("find/{id}"), fn.Methods("GET"), fn.AuthLevel(fn.Anonymous), lookup,
		fn.CosmosDBInput("doc", "testdb", "people", conn, fn.DocumentID("{id}")))
	app.HTTP("query", fn.Route("query/{city}"), fn.Methods("GET"), fn.AuthLevel(fn.Anonymous), lookup,
		fn.CosmosDBInput("doc", "testdb", "people", conn, fn.SQLQuery("SELECT c.id FROM c WHERE c.city = {city} ORDER BY c.id")))
	app.Run()
}
