package schemas

import (
	"embed"
	"strings"
	"time"
)

// The aws.events registry: the schemas of the events Switchyard itself
// emits with source aws.events, one file each under builtin/, named
// "<schema name>.json": the OpenAPI 3 document discovery (schemainfer)
// makes of the event, as AWS publishes the schemas of its own events.
//
//go:embed builtin/*.json
var builtinFS embed.FS

// builtinCreated is the creation time the built-in schemas report.
var builtinCreated = time.Date(2019, 12, 1, 0, 0, 0, 0, time.UTC)

type builtinSchema struct {
	schema  Schema
	content []byte
}

var builtins = func() map[string]*builtinSchema {
	m := map[string]*builtinSchema{}
	files, _ := builtinFS.ReadDir("builtin")
	for _, f := range files {
		data, err := builtinFS.ReadFile("builtin/" + f.Name())
		if err != nil {
			panic(err)
		}
		name := strings.TrimSuffix(f.Name(), ".json")
		m[name] = &builtinSchema{
			schema: Schema{Registry: AWSEventsRegistry, Name: name, Last: 1, LastModified: builtinCreated,
				Description: "Schema of the " + name + " event emitted by Switchyard",
				Versions:    []Version{{Number: 1, Type: TypeOpenAPI3, Created: builtinCreated}}},
			content: data,
		}
	}
	return m
}()
