package transform

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func ptr(s string) *string { return &s }

// ec2Event is the user guide's example event ("Amazon EventBridge input
// transformation", Input transform examples), as an envelope arrives:
// minified.
const ec2Event = `{"version":"0","id":"7bf73129-1428-4cd3-a780-95db273d1602","detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","account":"123456789012","time":"2015-11-11T21:29:54Z","region":"us-east-1","resources":["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],"detail":{"instance-id":"i-0123456789","state":"RUNNING"}}`

// ec2Paths is the guide's Input Path for that event.
var ec2Paths = map[string]string{
	"timestamp": "$.time",
	"instance":  "$.detail.instance-id",
	"state":     "$.detail.state",
	"resource":  "$.resources[0]",
}

// The guide's reserved-variable examples use this rule.
var exampleMeta = Meta{
	RuleArn:       "arn:aws:events:us-east-2:123456789012:rule/example",
	RuleName:      "example",
	IngestionTime: time.Date(2015, 11, 11, 21, 29, 55, 300_000_000, time.UTC),
}

// apiEvent carries the fields the InputTransformer API reference's
// examples extract.
const apiEvent = `{"version":"0","id":"1","detail-type":"t","source":"s","account":"123456789012","time":"2015-11-11T21:29:54Z","region":"us-east-1","resources":[],"detail":{"instance":"i-1234","status":"running"}}`

var apiPaths = map[string]string{"instance": "$.detail.instance", "status": "$.detail.status"}

// lsEvent is the event of LocalStack's AWS-validated input tests
// (tests/aws/services/events/test_events_inputs.py); their snapshots hold
// what real AWS delivered to SQS.
const lsEvent = `{"version":"0","id":"e1","detail-type":"core.update-account-command","source":"core.update-account-command","account":"111111111111","time":"2024-05-13T12:27:07Z","region":"us-east-1","resources":[],"detail":{"command":"update-account","payload":{"acc_id":"0a787ecb-4015","sf_id":"baz"}}}`

var lsPaths = map[string]string{"detail-type": "$.detail-type", "timestamp": "$.time", "command": "$.detail.command"}
var lsPathsMissing = map[string]string{"detail-type": "$.detail-type", "timestamp": "$.time", "command": "$.detail.notinmessage"}

// valuesEvent holds one value of every kind, with characters that need
// escaping.
const valuesEvent = `{"version":"0","id":"v","detail-type":"t","source":"s","account":"1","time":"2020-01-02T03:04:05Z","region":"r","resources":[],` +
	`"detail":{"str":"plain","quote":"say \"hi\"","backslash":"a\\b","newline":"line1\nline2","unicode":"caf\u00e9 ☕ \ud83d\ude00","html":"<b>&amp;</b>",` +
	`"int":42,"float":-1.5e3,"t":true,"f":false,"nil":null,"obj":{"key1":"value1","n":1,"q":"x\"y"},"arr":[1,"two",{"three":3}],"empty":"",` +
	`"spaced": { "a" : [ 1 , 2 ] },"items":[{"id":"a"},{"id":"b"},{"x":1}],"dup":1,"dup":2,"esc\u0061ped":"k"}}`

type shapeCase struct {
	name     string
	spec     Spec
	event    string
	meta     Meta
	want     string
	wantJSON bool // the result must be valid JSON
}

func tr(paths map[string]string, tmpl string) Spec {
	return Spec{ID: "t1", Transformer: &Transformer{PathsMap: paths, Template: tmpl}}
}

var shapeCases = []shapeCase{
	// No shaping: the event itself.
	{name: "event", spec: Spec{ID: "t1"}, event: ec2Event, want: ec2Event, wantJSON: true},

	// Input: constant JSON, sent as written.
	{name: "input", spec: Spec{ID: "t1", Input: ptr(`{"fixed": "text", "n": 1}`)}, event: ec2Event, want: `{"fixed": "text", "n": 1}`, wantJSON: true},
	{name: "input string", spec: Spec{ID: "t1", Input: ptr(`"hello"`)}, event: ec2Event, want: `"hello"`, wantJSON: true},

	// InputPath. PutTargets reference: "If InputPath is specified in the
	// form of JSONPath (for example, $.detail), then only the part of the
	// event specified in the path is passed to the target".
	{name: "input path detail", spec: Spec{ID: "t1", InputPath: ptr("$.detail")}, event: ec2Event, want: `{"instance-id":"i-0123456789","state":"RUNNING"}`, wantJSON: true},
	{name: "input path root", spec: Spec{ID: "t1", InputPath: ptr("$")}, event: ec2Event, want: ec2Event, wantJSON: true},
	// AWS (LocalStack snapshots): $.detail.payload gives the object,
	// $.detail.payload.sf_id the JSON string "baz", quotes included.
	{name: "aws input path nested", spec: Spec{ID: "t1", InputPath: ptr("$.detail.payload")}, event: lsEvent, want: `{"acc_id":"0a787ecb-4015","sf_id":"baz"}`, wantJSON: true},
	{name: "aws input path string", spec: Spec{ID: "t1", InputPath: ptr("$.detail.payload.sf_id")}, event: lsEvent, want: `"baz"`, wantJSON: true},
	{name: "input path array index", spec: Spec{ID: "t1", InputPath: ptr("$.resources[0]")}, event: ec2Event, want: `"arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"`, wantJSON: true},
	{name: "input path number", spec: Spec{ID: "t1", InputPath: ptr("$.detail.float")}, event: valuesEvent, want: `-1.5e3`, wantJSON: true},
	{name: "input path minified", spec: Spec{ID: "t1", InputPath: ptr("$.detail.spaced")}, event: valuesEvent, want: `{"a":[1,2]}`, wantJSON: true},
	{name: "input path wildcard", spec: Spec{ID: "t1", InputPath: ptr("$.detail.items[*].id")}, event: valuesEvent, want: `["a","b"]`, wantJSON: true},
	{name: "input path missing", spec: Spec{ID: "t1", InputPath: ptr("$.detail.nope")}, event: ec2Event, want: `null`, wantJSON: true},
	{name: "input path index out of range", spec: Spec{ID: "t1", InputPath: ptr("$.resources[3]")}, event: ec2Event, want: `null`, wantJSON: true},

	// The user guide's table, "Input transform examples", with its event
	// and Input Path. The guide shows the JSON results pretty-printed;
	// "The JSON that is passed to the target is minified".
	{name: "guide simple string", spec: tr(ec2Paths, `"instance <instance> is in <state>"`), event: ec2Event,
		want: `"instance i-0123456789 is in RUNNING"`, wantJSON: true},
	{name: "guide string with escaped quotes", spec: tr(ec2Paths, `"instance \"<instance>\" is in <state>"`), event: ec2Event,
		want: `"instance \"i-0123456789\" is in RUNNING"`, wantJSON: true},
	// "The AWS CLI escapes the slash characters and the result is
	// "instance "i-0123456789" is in RUNNING"": the template then holds
	// bare quotes, is no JSON, and is sent as text.
	{name: "guide string with quotes through the CLI", spec: tr(ec2Paths, `"instance "<instance>" is in <state>"`), event: ec2Event,
		want: `"instance "i-0123456789" is in RUNNING"`},
	{name: "guide simple JSON", spec: tr(ec2Paths, "{\n  \"instance\" : <instance>,\n  \"state\": <state>\n}"), event: ec2Event,
		want: `{"instance":"i-0123456789","state":"RUNNING"}`, wantJSON: true},
	{name: "guide JSON with strings and variables", spec: tr(ec2Paths, "{\n \"instance\" : <instance>,\n \"state\": \"<state>\",\n \"instanceStatus\": \"instance \\\"<instance>\\\" is in <state>\"\n}"), event: ec2Event,
		want: `{"instance":"i-0123456789","state":"RUNNING","instanceStatus":"instance \"i-0123456789\" is in RUNNING"}`, wantJSON: true},
	{name: "guide JSON with variables and static information", spec: tr(ec2Paths, "{\n  \"instance\" : <instance>,\n  \"state\": [ 9, <state>, true ],\n  \"Transformed\" : \"Yes\"\n}\n"), event: ec2Event,
		want: `{"instance":"i-0123456789","state":[9,"RUNNING",true],"Transformed":"Yes"}`, wantJSON: true},
	{name: "guide reserved variables in JSON", spec: tr(ec2Paths, "{\n  \"instance\" : <instance>,\n  \"state\": <state>,\n  \"ruleArn\" : <aws.events.rule-arn>,\n  \"ruleName\" : <aws.events.rule-name>,\n  \"originalEvent\" : <aws.events.event.json>\n}"), event: ec2Event, meta: exampleMeta,
		want: `{"instance":"i-0123456789","state":"RUNNING","ruleArn":"arn:aws:events:us-east-2:123456789012:rule/example","ruleName":"example","originalEvent":` + ec2Event + `}`, wantJSON: true},
	{name: "guide reserved variables in a string", spec: tr(ec2Paths, `"<aws.events.rule-name> triggered"`), event: ec2Event, meta: exampleMeta,
		want: `"example triggered"`, wantJSON: true},
	// The guide shows this one as CloudWatch Logs displays it
	// ({"timestamp" : 2015-11-11T21:29:54Z, "message": "instance
	// "i-0123456789" is in RUNNING}); the payload itself is JSON.
	{name: "guide CloudWatch log group", spec: tr(ec2Paths, "{\n  \"timestamp\" : <timestamp>,\n  \"message\": \"instance \\\"<instance>\\\" is in <state>\"\n}"), event: ec2Event,
		want: `{"timestamp":"2015-11-11T21:29:54Z","message":"instance \"i-0123456789\" is in RUNNING"}`, wantJSON: true},
	{name: "guide array index variable", spec: tr(ec2Paths, `{"resource": <resource>}`), event: ec2Event,
		want: `{"resource":"arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"}`, wantJSON: true},
	// Common issues: "If a JSON path references a JSON object or array,
	// but the variable is referenced in a string, EventBridge removes any
	// internal quotes to ensure a valid string. ... if you want to output
	// a JSON object based on a single JSON path variable, you must place
	// it as a key": {"detail": <detail>}.
	{name: "guide object in a string", spec: tr(map[string]string{"detail": "$.detail"}, `"Detail is <detail>"`), event: ec2Event,
		want: `"Detail is {instance-id:i-0123456789,state:RUNNING}"`, wantJSON: true},
	{name: "guide object as a value", spec: tr(map[string]string{"detail": "$.detail"}, `{"detail": <detail>}`), event: ec2Event,
		want: `{"detail":{"instance-id":"i-0123456789","state":"RUNNING"}}`, wantJSON: true},
	// "Quotes are not required for variables that represent strings. They
	// are permitted, but EventBridge automatically adds quotes to string
	// variable values ... does not add quotes to variables that represent
	// JSON objects or arrays."
	{name: "guide quoted and unquoted strings", spec: tr(ec2Paths, `{"a": <state>, "b": "<state>"}`), event: ec2Event,
		want: `{"a":"RUNNING","b":"RUNNING"}`, wantJSON: true},
	{name: "guide reserved variables, strings and objects", spec: tr(nil, "{\n  \"ruleArn\" : <aws.events.rule-arn>,\n  \"ruleName\" : <aws.events.rule-name>,\n  \"originalEvent\" : <aws.events.event.json>\n}"), event: ec2Event, meta: exampleMeta,
		want: `{"ruleArn":"arn:aws:events:us-east-2:123456789012:rule/example","ruleName":"example","originalEvent":` + ec2Event + `}`, wantJSON: true},
	// "For (non-JSON) text output as multi-line strings, wrap each
	// separate line in your input template in double quotes": several
	// JSON strings are no single JSON text, so this is text.
	{name: "guide multi-line string", spec: tr(ec2Paths, "\"Instance <instance>\"\n\"State: \\\"<state>\\\"\"\n\"At <timestamp>\""), event: ec2Event,
		want: "\"Instance i-0123456789\"\n\"State: \\\"RUNNING\\\"\"\n\"At 2015-11-11T21:29:54Z\""},

	// The InputTransformer API reference's three examples.
	{name: "api plain text", spec: tr(apiPaths, `<instance> is in state <status>`), event: apiEvent,
		want: `i-1234 is in state running`},
	{name: "api quotes in text", spec: tr(apiPaths, `<instance> is in state "<status>"`), event: apiEvent,
		want: `i-1234 is in state "running"`},
	{name: "api JSON with variables in quotes or out", spec: tr(apiPaths, `{"myInstance": <instance>,"myStatus": "<instance> is in state \"<status>\""}`), event: apiEvent,
		want: `{"myInstance":"i-1234","myStatus":"i-1234 is in state \"running\""}`, wantJSON: true},

	// The input transformer tutorial: the SNS message is
	// "This event was of customerCreated type.", quotes included.
	{name: "tutorial", spec: tr(map[string]string{"detail-type": "$.detail-type"}, `"This event was of <detail-type> type."`),
		event: `{"version":"0","id":"x","detail-type":"customerCreated","source":"TestEvent","account":"1","time":"2020-01-01T00:00:00Z","region":"r","resources":[],"detail":{}}`,
		want:  `"This event was of customerCreated type."`, wantJSON: true},

	// Recorded on AWS (LocalStack's validated snapshots).
	{name: "aws string template", spec: tr(lsPaths, `"Event of <detail-type> type, at time <timestamp>, info extracted from detail <command>"`), event: lsEvent,
		want: `"Event of core.update-account-command type, at time 2024-05-13T12:27:07Z, info extracted from detail update-account"`, wantJSON: true},
	{name: "aws string template missing path", spec: tr(lsPathsMissing, `"Event of <detail-type> type, at time <timestamp>, info extracted from detail <command>"`), event: lsEvent,
		want: `"Event of core.update-account-command type, at time 2024-05-13T12:27:07Z, info extracted from detail "`, wantJSON: true},
	{name: "aws string template special starting characters", spec: tr(lsPaths, `"{[/Check with special starting characters for event of <detail-type> type"`), event: lsEvent,
		want: `"{[/Check with special starting characters for event of core.update-account-command type"`, wantJSON: true},
	{name: "aws JSON template", spec: tr(lsPaths, `{"detailType": <detail-type>,  "time": <timestamp>, "command": <command>}`), event: lsEvent,
		want: `{"detailType":"core.update-account-command","time":"2024-05-13T12:27:07Z","command":"update-account"}`, wantJSON: true},
	{name: "aws JSON template missing path", spec: tr(lsPathsMissing, `{"detailType": <detail-type>,  "time": <timestamp>, "command": <command>}`), event: lsEvent,
		want: `{"detailType":"core.update-account-command","time":"2024-05-13T12:27:07Z","command":""}`, wantJSON: true},
	{name: "aws predefined variables in a string", spec: tr(nil, `"Message containing all pre defined variables <aws.events.rule-arn> <aws.events.rule-name> <aws.events.event.ingestion-time>"`), event: lsEvent,
		meta: Meta{RuleArn: "arn:aws:events:us-east-1:111111111111:rule/bus/rule", RuleName: "rule", IngestionTime: time.Date(2024, 5, 13, 12, 27, 8, 0, time.UTC)},
		want: `"Message containing all pre defined variables arn:aws:events:us-east-1:111111111111:rule/bus/rule rule 2024-05-13T12:27:08Z"`, wantJSON: true},
	{name: "aws predefined event variables", spec: tr(nil, `{"originalEvent": <aws.events.event>, "originalEventJson": <aws.events.event.json>}`), event: lsEvent,
		want: `{"originalEvent":{"id":"e1","account":"111111111111","detailType":"core.update-account-command","time":"2024-05-13T12:27:07Z","source":"core.update-account-command","region":"us-east-1","resources":[],"version":"0"},"originalEventJson":` + lsEvent + `}`, wantJSON: true},

	// Values of every kind, outside strings, inside strings, and in text.
	{name: "kinds outside strings", spec: tr(valuePaths, `{"s":<str>,"i":<int>,"f":<float>,"t":<t>,"ff":<f>,"n":<nil>,"o":<obj>,"a":<arr>,"e":<empty>,"m":<missing>}`), event: valuesEvent,
		want: `{"s":"plain","i":42,"f":-1.5e3,"t":true,"ff":false,"n":null,"o":{"key1":"value1","n":1,"q":"x\"y"},"a":[1,"two",{"three":3}],"e":"","m":""}`, wantJSON: true},
	{name: "kinds inside a string", spec: tr(valuePaths, `"s=<str> i=<int> f=<float> t=<t> f=<f> n=<nil> o=<obj> a=<arr> e=<empty> m=<missing>."`), event: valuesEvent,
		want: `"s=plain i=42 f=-1.5e3 t=true f=false n=null o={key1:value1,n:1,q:x\"y} a=[1,two,{three:3}] e= m=."`, wantJSON: true},
	{name: "kinds in text", spec: tr(valuePaths, `s=<str> i=<int> f=<float> t=<t> f=<f> n=<nil> o=<obj> a=<arr> e=<empty> m=<missing>.`), event: valuesEvent,
		want: `s=plain i=42 f=-1.5e3 t=true f=false n=null o={"key1":"value1","n":1,"q":"x\"y"} a=[1,"two",{"three":3}] e= m=.`},
	{name: "special characters outside strings", spec: tr(valuePaths, `[<quote>, <backslash>, <newline>, <unicode>, <html>]`), event: valuesEvent,
		want: `["say \"hi\"","a\\b","line1\nline2","caf\u00e9 ☕ \ud83d\ude00","<b>&amp;</b>"]`, wantJSON: true},
	{name: "special characters inside a string", spec: tr(valuePaths, `{"m": "<quote>|<backslash>|<newline>|<unicode>|<html>"}`), event: valuesEvent,
		want: `{"m":"say \"hi\"|a\\b|line1\nline2|caf\u00e9 ☕ \ud83d\ude00|<b>&amp;</b>"}`, wantJSON: true},
	{name: "special characters in text", spec: tr(valuePaths, "<quote>|<backslash>|<newline>|<unicode>|<html>|"), event: valuesEvent,
		want: "say \"hi\"|a\\b|line1\nline2|café ☕ 😀|<b>&amp;</b>|"},
	{name: "lone placeholder string", spec: tr(valuePaths, `<str>`), event: valuesEvent, want: `"plain"`, wantJSON: true},
	{name: "lone placeholder number", spec: tr(valuePaths, ` <int> `), event: valuesEvent, want: `42`, wantJSON: true},
	{name: "lone placeholder missing", spec: tr(valuePaths, `<missing>`), event: valuesEvent, want: `""`, wantJSON: true},
	{name: "placeholder twice", spec: tr(valuePaths, `[<str>,"<str>"]`), event: valuesEvent, want: `["plain","plain"]`, wantJSON: true},
	{name: "whitespace inside template strings kept", spec: tr(valuePaths, "{ \"a b\" : \"  <str>  \" }"), event: valuesEvent, want: `{"a b":"  plain  "}`, wantJSON: true},
	{name: "wildcard array", spec: tr(valuePaths, `{"ids": <ids>}`), event: valuesEvent, want: `{"ids":["a","b"]}`, wantJSON: true},
	{name: "wildcard members", spec: tr(map[string]string{"v": "$.detail.obj.*"}, `{"v": <v>}`), event: valuesEvent, want: `{"v":["value1",1,"x\"y"]}`, wantJSON: true},
	{name: "duplicate key last wins", spec: tr(valuePaths, `{"d": <dup>}`), event: valuesEvent, want: `{"d":2}`, wantJSON: true},
	{name: "escaped key", spec: tr(map[string]string{"k": "$.detail.escaped"}, `{"k": <k>}`), event: valuesEvent, want: `{"k":"k"}`, wantJSON: true},
	{name: "path through a non-object", spec: tr(map[string]string{"k": "$.detail.str.x"}, `{"k": <k>}`), event: valuesEvent, want: `{"k":""}`, wantJSON: true},
	{name: "less-than is not always a placeholder", spec: tr(valuePaths, `"1 < 2 and <str> > 0 and <a b>"`), event: valuesEvent, want: `"1 < 2 and plain > 0 and <a b>"`, wantJSON: true},
	{name: "backslash before a placeholder is text", spec: tr(valuePaths, `"\<str>"`), event: valuesEvent, want: `"\plain"`},
	{name: "placeholder as an object key is text", spec: tr(valuePaths, `{<str>: 1}`), event: valuesEvent, want: `{plain: 1}`},
	{name: "rule name with quotes", spec: tr(nil, `{"r": <aws.events.rule-name>, "s": "<aws.events.rule-name>"}`), event: valuesEvent,
		meta: Meta{RuleName: `we"ird\`}, want: `{"r":"we\"ird\\","s":"we\"ird\\"}`, wantJSON: true},
	{name: "ingestion time", spec: tr(nil, `{"t": <aws.events.event.ingestion-time>}`), event: valuesEvent,
		meta: Meta{IngestionTime: time.Date(2026, 3, 4, 6, 7, 8, 900_000_000, time.FixedZone("x", 3600))}, want: `{"t":"2026-03-04T05:07:08Z"}`, wantJSON: true},
	{name: "event in a string", spec: tr(nil, `"e=<aws.events.event>"`), event: apiEvent,
		want: `"e={id:1,account:123456789012,detailType:t,time:2015-11-11T21:29:54Z,source:s,region:us-east-1,resources:[],version:0}"`, wantJSON: true},
}

var valuePaths = map[string]string{
	"str": "$.detail.str", "quote": "$.detail.quote", "backslash": "$.detail.backslash", "newline": "$.detail.newline",
	"unicode": "$.detail.unicode", "html": "$.detail.html", "int": "$.detail.int", "float": "$.detail.float",
	"t": "$.detail.t", "f": "$.detail.f", "nil": "$.detail.nil", "obj": "$.detail.obj", "arr": "$.detail.arr",
	"empty": "$.detail.empty", "missing": "$.detail.missing", "ids": "$.detail.items[*].id", "dup": "$.detail.dup",
}

func TestApply(t *testing.T) {
	for _, c := range shapeCases {
		t.Run(c.name, func(t *testing.T) {
			s, err := Compile(c.spec)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			got, err := s.Apply([]byte(c.event), c.meta)
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if string(got) != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
			if c.wantJSON && !json.Valid(got) {
				t.Errorf("result is not JSON: %s", got)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	many := map[string]string{}
	for i := 0; i <= MaxPaths; i++ {
		many["k"+strings.Repeat("x", i)] = "$.detail"
	}
	cases := []struct {
		name string
		spec Spec
		want string
	}{
		// Recorded on AWS (LocalStack's validated snapshots).
		{"input path and transformer", Spec{ID: "t-1", InputPath: ptr("$.detail"), Transformer: &Transformer{Template: `"x"`}},
			"Only one of Input, InputPath, or InputTransformer must be provided for target t-1."},
		{"undefined placeholder", tr(map[string]string{"detail-type": "$.detail-type"}, `"Event of <detail-type> type, with not defined key <notdefinedkey>"`),
			"InputTemplate for target t1 contains invalid placeholder notdefinedkey."},
		// AWS's wording, reported from CloudFormation deployments.
		{"input not JSON", Spec{ID: "LogGroupTarget", Input: ptr(`{"a":`)}, "Input for target LogGroupTarget is not a valid JSON text."},
		{"input empty", Spec{ID: "t1", Input: ptr(``)}, "Input for target t1 is not a valid JSON text."},
		{"input and input path", Spec{ID: "t1", Input: ptr(`{}`), InputPath: ptr("$")}, "Only one of Input, InputPath, or InputTransformer must be provided for target t1."},
		{"all three", Spec{ID: "t1", Input: ptr(`{}`), InputPath: ptr("$"), Transformer: &Transformer{Template: "x"}}, "Only one of Input, InputPath, or InputTransformer must be provided for target t1."},
		{"input path without $", Spec{ID: "t1", InputPath: ptr("detail")}, "InputPath for target t1 is invalid."},
		{"input path bracket notation", Spec{ID: "t1", InputPath: ptr("$.detail['a']")}, "InputPath for target t1 is invalid."},
		{"input path deep scan", Spec{ID: "t1", InputPath: ptr("$..a")}, "InputPath for target t1 is invalid."},
		{"input path trailing dot", Spec{ID: "t1", InputPath: ptr("$.")}, "InputPath for target t1 is invalid."},
		{"input path negative index", Spec{ID: "t1", InputPath: ptr("$.a[-1]")}, "InputPath for target t1 is invalid."},
		{"input path slice", Spec{ID: "t1", InputPath: ptr("$.a[0:2]")}, "InputPath for target t1 is invalid."},
		{"input path filter", Spec{ID: "t1", InputPath: ptr("$.a[?(@.b)]")}, "InputPath for target t1 is invalid."},
		{"input path empty", Spec{ID: "t1", InputPath: ptr("")}, "InputPath for target t1 is invalid."},
		{"input path too long", Spec{ID: "t1", InputPath: ptr("$." + strings.Repeat("a", MaxPathLength))}, "InputPath for target t1 is invalid."},
		{"paths map value invalid", tr(map[string]string{"a": "$.detail[\"x\"]"}, `<a>`), "InputPath for target t1 is invalid."},
		{"paths map key with a dot", tr(map[string]string{"aws.events.rule-arn": "$.detail"}, `<aws.events.rule-arn>`), "InputPathsMap for target t1 contains invalid key aws.events.rule-arn."},
		{"paths map key empty", tr(map[string]string{"": "$.detail"}, `"x"`), "InputPathsMap for target t1 contains invalid key ."},
		{"too many paths", tr(many, `"x"`), "InputPathsMap for target t1 has more than 100 entries."},
		{"template empty", tr(nil, ``), "InputTemplate for target t1 must not be empty."},
		{"template too long", tr(nil, `"`+strings.Repeat("é", MaxTemplateLength)+`"`), "InputTemplate for target t1 is longer than 8192 characters."},
		{"markup is a placeholder", tr(nil, `"<b>bold</b>"`), "InputTemplate for target t1 contains invalid placeholder b."},
		{"unknown predefined", tr(nil, `<aws.events.event.id>`), "InputTemplate for target t1 contains invalid placeholder aws.events.event.id."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Compile(c.spec)
			ve, ok := err.(*ValidationError)
			if !ok {
				t.Fatalf("Compile = %v, want ValidationError %q", err, c.want)
			}
			if ve.Message != c.want {
				t.Errorf("message = %q\nwant      %q", ve.Message, c.want)
			}
		})
	}
}

func TestCompileAccepts(t *testing.T) {
	for _, p := range []string{"$", "$.detail", "$.detail.a-b_c/d", "$.detail.aws:SourceArn", "$.resources[0]", "$.detail.items[*].id", "$.detail.*", "$[0]", "$.a[12][3].b"} {
		if _, err := Compile(Spec{ID: "t", InputPath: ptr(p)}); err != nil {
			t.Errorf("InputPath %q: %v", p, err)
		}
	}
	many := map[string]string{}
	for i := 0; i < MaxPaths; i++ {
		many["k"+strings.Repeat("x", i)] = "$.detail"
	}
	if _, err := Compile(tr(many, `"x"`)); err != nil {
		t.Errorf("100 paths: %v", err)
	}
	if _, err := Compile(tr(nil, `"`+strings.Repeat("a", MaxTemplateLength-2)+`"`)); err != nil {
		t.Errorf("8192 characters: %v", err)
	}
	// Keys that are defined but not used are fine.
	if _, err := Compile(tr(map[string]string{"unused": "$.x", "A-z_9": "$.y"}, `{"a": 1}`)); err != nil {
		t.Errorf("unused key: %v", err)
	}
}

func TestApplyBadEvent(t *testing.T) {
	s, err := Compile(tr(map[string]string{"a": "$.a"}, `{"a": <a>}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range []string{``, `{`, `{"a": }`, `{"a": 1} x`, `{"a": "\x01"}`, `{"a": tru}`} {
		if got, err := s.Apply([]byte(ev), Meta{}); err == nil {
			t.Errorf("Apply(%q) = %s, want an error", ev, got)
		}
	}
}
