package awstarget

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/deliver"
)

// shaped reports whether the target says what it receives (Input,
// InputPath or InputTransformer). Without any, EventBridge passes the
// whole event, "unless the target is Amazon EC2 Run Command or Amazon ECS
// task, in which case nothing from the event is passed to the target"
// (PutTargets, EventBridge API Reference).
func shaped(t *control.Target) bool {
	return t.Input != nil || t.InputPath != nil || t.InputTransformer != nil
}

// decodeInput decodes the input, a JSON object whose members name the
// request parameters of the target's API call in its own spelling
// (CodeBuild's {"timeoutInMinutesOverride": 30}, ECS's
// {"containerOverrides": [...]}, Batch's {"Parameters": {...}}), into v, an
// SDK input shape or part of one. Members are matched to v's fields
// regardless of case, as the SDK's fields are the API's member names
// capitalized; members that name nothing are ignored, as the parts of the
// event that are no parameter are. Input that is no JSON object, or whose
// members have the wrong types, can never be sent: a permanent failure.
func decodeInput(inv *deliver.Invocation, v any) error {
	in := bytes.TrimSpace(inv.Input)
	if len(in) == 0 || in[0] != '{' {
		return deliver.Permanent("InvalidInput", fmt.Errorf("target %s: the input is not a JSON object of request parameters", inv.Target.Arn))
	}
	if err := json.Unmarshal(in, v); err != nil {
		return deliver.Permanent("InvalidInput", fmt.Errorf("target %s: the input's request parameters: %w", inv.Target.Arn, err))
	}
	return nil
}

// dynamic resolves a parameter value that is a JSON path ("$.detail.x")
// against the event, as EventBridge does for HttpParameters,
// RedshiftDataParameters and SageMakerPipelineParameters ("Any
// HttpParameters field value (except HeaderParameters map keys) can
// contain JSON paths instead of static values", "Target parameters",
// Event bus targets, EventBridge User Guide); any other value is itself.
// A path the event does not have gives "".
func dynamic(event []byte, v string) string {
	if !strings.HasPrefix(v, "$.") && v != "$" {
		return v
	}
	s, _ := deliver.Lookup(event, v)
	return s
}

// stringParams turns an input object of parameters into the
// map[string][]string SSM documents take: a string value is a list of
// one, a list of strings is itself, any other value is its JSON text.
func stringParams(inv *deliver.Invocation) (map[string][]string, error) {
	var raw map[string]json.RawMessage
	if err := decodeInput(inv, &raw); err != nil {
		return nil, err
	}
	out := make(map[string][]string, len(raw))
	for k, v := range raw {
		var s string
		var list []string
		switch {
		case json.Unmarshal(v, &s) == nil:
			out[k] = []string{s}
		case json.Unmarshal(v, &list) == nil:
			out[k] = list
		default:
			out[k] = []string{string(v)}
		}
	}
	return out, nil
}
