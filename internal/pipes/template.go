package pipes

import (
	"fmt"
	"strings"
	"time"

	"github.com/switchyard/switchyard/transform"
)

// Pipes' InputTemplate names its values directly: <$.body.orderId> is the
// value at that JSON path of the event (the record, or what the enrichment
// returned), and the reserved variables <aws.pipes.pipe-arn>,
// <aws.pipes.pipe-name>, <aws.pipes.source-arn>, <aws.pipes.enrichment-arn>,
// <aws.pipes.target-arn>, <aws.pipes.event.ingestion-time>,
// <aws.pipes.event> and <aws.pipes.event.json> name the pipe and the whole
// event ("Amazon EventBridge Pipes input transformation", EventBridge User
// Guide). Quoting is EventBridge's: a value outside a JSON string takes
// its JSON form, one inside a string its text.
//
// Package transform already fills templates with EventBridge's quoting,
// from an InputPathsMap. So a Pipes template is rewritten to that form:
// each path becomes a variable of the paths map, over a wrapper document
// {"e": <event>, "m": {<the pipe's ARNs and name>}}.

// pipeTemplate is a compiled Pipes InputTemplate.
type pipeTemplate struct {
	shaper *transform.Shaper
}

var reservedVars = map[string]string{
	"aws.pipes.pipe-arn":       "$.m.pipeArn",
	"aws.pipes.pipe-name":      "$.m.pipeName",
	"aws.pipes.source-arn":     "$.m.sourceArn",
	"aws.pipes.enrichment-arn": "$.m.enrichmentArn",
	"aws.pipes.target-arn":     "$.m.targetArn",
	"aws.pipes.event":          "$.e",
	"aws.pipes.event.json":     "$.e",
}

func isNameChar(c byte) bool {
	switch c {
	case '<', '>', '"', '\\', ' ', '\t', '\n', '\r':
		return false
	}
	return c >= ' '
}

// compileTemplate compiles tmpl; field names the parameter in errors.
func compileTemplate(field, tmpl string) (*pipeTemplate, error) {
	var b strings.Builder
	paths := map[string]string{}
	index := map[string]string{}
	for i := 0; i < len(tmpl); i++ {
		if tmpl[i] != '<' {
			b.WriteByte(tmpl[i])
			continue
		}
		j := i + 1
		for j < len(tmpl) && isNameChar(tmpl[j]) {
			j++
		}
		if j == i+1 || j == len(tmpl) || tmpl[j] != '>' {
			b.WriteByte(tmpl[i])
			continue
		}
		name := tmpl[i+1 : j]
		key, seen := index[name]
		if !seen {
			var path string
			switch {
			case name == "aws.pipes.event.ingestion-time":
				key = transform.VarIngestionTime
			case reservedVars[name] != "":
				path = reservedVars[name]
			case strings.HasPrefix(name, "$"):
				path = "$.e" + name[1:]
			default:
				return nil, fieldInvalid(field, fmt.Sprintf("The InputTemplate contains the placeholder <%s>, which is neither a JSON path ($...) nor a reserved variable (aws.pipes...).", name))
			}
			if path != "" {
				key = fmt.Sprintf("v%d", len(paths))
				paths[key] = path
			}
			index[name] = key
		}
		b.WriteString("<" + key + ">")
		i = j
	}
	if b.Len() == 0 {
		return nil, nil
	}
	sh, err := transform.Compile(transform.Spec{ID: "pipe", Transformer: &transform.Transformer{PathsMap: paths, Template: b.String()}})
	if err != nil {
		msg := err.Error()
		if strings.Contains(msg, "InputPath for target") {
			msg = "The InputTemplate contains a JSON path that is not valid."
		}
		return nil, fieldInvalid(field, msg)
	}
	return &pipeTemplate{shaper: sh}, nil
}

// apply fills the template from event (a JSON document) and the pipe.
func (t *pipeTemplate) apply(event []byte, p *Pipe, ingested time.Time) ([]byte, error) {
	var b []byte
	b = append(b, `{"e":`...)
	b = append(b, event...)
	b = append(b, `,"m":{"pipeArn":`...)
	b = appendString(b, p.Arn)
	b = append(b, `,"pipeName":`...)
	b = appendString(b, p.Name)
	b = append(b, `,"sourceArn":`...)
	b = appendString(b, p.Source)
	b = append(b, `,"enrichmentArn":`...)
	b = appendString(b, p.Enrichment)
	b = append(b, `,"targetArn":`...)
	b = appendString(b, p.Target)
	b = append(b, `}}`...)
	return t.shaper.Apply(b, transform.Meta{RuleArn: p.Arn, RuleName: p.Name, IngestionTime: ingested})
}
