// Command sdkapp is a Go SDK function app for the Event Grid binding's end-to-end tests: its Event Grid function
// publishes, for each event it receives, an event saying what it got to the topic the app settings TOPIC_URI and
// TOPIC_KEY name, and fails for events whose subject is "fail".
package main

import (
	"encoding/json"
	"errors"

	"github.com/lapisdev/lapis/sdk/fn"
)

func main() {
	app := fn.NewApp()
	app.EventGrid("onevent", func(ctx *fn.Context, ev fn.EventGridEvent) error {
		if ev.Subject == "fail" {
			return errors.New("failing on purpose")
		}
		seen, err := json.Marshal(map[string]any{"id": ev.ID, "type": ev.EventType, "cloud": ev.IsCloudEvent(), "data": ev.Data})
		if err != nil {
			return err
		}
		ctx.PublishEvent("out", fn.EventGridEvent{Subject: ev.Subject, EventType: "Lapis.Test.Seen", Data: seen, DataVersion: "1.0"})
		return nil
	}, fn.EventGridOutput("out", "TOPIC_URI", "TOPIC_KEY"))
	app.Run()
}
