package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var testOpts = Options{Region: "us-east-1", Account: "123456789012",
	Parameters: map[string]string{}}

// golden compares got with testdata/<name>, or writes it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to make it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// readFixture reads testdata/<dir>/<name>, with parameters from its
// "# parameter: Key=Value" comment lines.
func readFixture(t *testing.T, path string) (*Document, error) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	opts := testOpts
	opts.Parameters = map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if kv, ok := strings.CutPrefix(line, "# parameter: "); ok {
			k, v, _ := strings.Cut(kv, "=")
			opts.Parameters[k] = v
		}
		if s, ok := strings.CutPrefix(line, "# stack: "); ok {
			opts.Stack = s
		}
	}
	if opts.Stack == "" && strings.Contains(string(data), `"Resources"`) {
		opts.Stack = "fixture"
	}
	return Read(data, opts)
}

// TestReadGolden reads each document of testdata/read and compares the
// document it makes, as JSON, with its .golden file.
func TestReadGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/read/*.yaml")
	js, _ := filepath.Glob("testdata/read/*.json")
	files = append(files, js...)
	if len(files) == 0 {
		t.Fatal("no fixtures")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			doc, err := readFixture(t, f)
			if err != nil {
				t.Fatal(err)
			}
			out, _ := json.MarshalIndent(struct {
				*Document
				Skipped []Skipped `json:",omitempty"`
			}{doc, doc.Skipped}, "", "  ")
			golden(t, strings.TrimPrefix(f, "testdata/")+".golden", append(out, '\n'))
		})
	}
}

// TestPlanGolden plans each testdata/plan/<case>/desired.yaml against
// actual.yaml (the state as the API would list it) and compares the
// printed plan with plan.golden; prune.golden is the plan with Prune.
func TestPlanGolden(t *testing.T) {
	dirs, _ := filepath.Glob("testdata/plan/*")
	if len(dirs) == 0 {
		t.Fatal("no fixtures")
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			desired, err := readFixture(t, filepath.Join(dir, "desired.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			actual := &Document{}
			if _, err := os.Stat(filepath.Join(dir, "actual.yaml")); err == nil {
				if actual, err = readFixture(t, filepath.Join(dir, "actual.yaml")); err != nil {
					t.Fatal(err)
				}
			}
			// The API gives connections and API destinations ARNs ending
			// in an id it makes.
			for i := range actual.Connections {
				actual.Connections[i].Arn = "arn:aws:events:us-east-1:123456789012:connection/" + actual.Connections[i].Name + "/0001"
			}
			for i := range actual.ApiDestinations {
				actual.ApiDestinations[i].Arn = "arn:aws:events:us-east-1:123456789012:api-destination/" + actual.ApiDestinations[i].Name + "/0002"
			}
			for _, prune := range []bool{false, true} {
				p := Compare(desired, actual, PlanOptions{Prune: prune, Region: "us-east-1", Account: "123456789012"})
				var b bytes.Buffer
				if err := p.Write(&b); err != nil {
					t.Fatal(err)
				}
				name := "plan.golden"
				if prune {
					name = "prune.golden"
				}
				golden(t, filepath.Join(strings.TrimPrefix(dir, "testdata/"), name), b.Bytes())
			}
		})
	}
}

// TestPlanOfItself: a document planned against the state it describes
// (as apply leaves it: tagged and marked) changes nothing.
func TestPlanOfItself(t *testing.T) {
	desired, err := readFixture(t, "testdata/plan/create/desired.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := Compare(desired, &Document{}, PlanOptions{Region: "us-east-1", Account: "123456789012"})
	actual := &Document{}
	for _, ch := range p.Changes {
		switch d := ch.desired.(type) {
		case *EventBus:
			actual.EventBuses = append(actual.EventBuses, *d)
		case *Rule:
			r := *d
			r.Targets = nil
			if r.State == "" {
				r.State = "ENABLED"
			}
			actual.Rules = append(actual.Rules, r)
		case targetChange:
			for i := range actual.Rules {
				if actual.Rules[i].Name == d.rule.Name {
					actual.Rules[i].Targets = append(actual.Rules[i].Targets, d.target)
				}
			}
		case *Archive:
			actual.Archives = append(actual.Archives, *d)
		case *Connection:
			c := *d
			c.AuthParameters = publicAuth(c.AuthParameters).(map[string]any)
			c.Arn = "arn:aws:events:us-east-1:123456789012:connection/" + c.Name + "/1"
			actual.Connections = append(actual.Connections, c)
		case *ApiDestination:
			a := *d
			a.ConnectionArn = "arn:aws:events:us-east-1:123456789012:connection/" + a.ConnectionName + "/1"
			a.Arn = "arn:aws:events:us-east-1:123456789012:api-destination/" + a.Name + "/2"
			actual.ApiDestinations = append(actual.ApiDestinations, a)
		}
	}
	// Targets naming API destinations hold the ARN the API made.
	for i := range actual.Rules {
		for j, tg := range actual.Rules[i].Targets {
			s, _ := tg["Arn"].(string)
			c := Target{}
			for k, v := range tg {
				c[k] = v
			}
			c["Arn"] = bindARNs(s, map[string]string{"api-destination/hook": "arn:aws:events:us-east-1:123456789012:api-destination/hook/2"})
			actual.Rules[i].Targets[j] = c
		}
	}
	again := Compare(desired, actual, PlanOptions{Prune: true, Region: "us-east-1", Account: "123456789012"})
	if !again.Empty() {
		var b bytes.Buffer
		_ = again.Write(&b)
		t.Errorf("planning the applied state again changes:\n%s", b.String())
	}
}

// TestReadErrors: hostile and wrong documents are refused with what and
// where.
func TestReadErrors(t *testing.T) {
	huge := "Stack: s\nRules:\n" + strings.Repeat("  - {Name: r, ScheduleExpression: rate(1 day)}\n", 30000)
	many := "Stack: s\nRules:\n"
	for i := range MaxResources + 1 {
		many += "  - {Name: r" + strconv.Itoa(i) + ", ScheduleExpression: rate(1 day)}\n"
	}
	bomb := "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
	cases := []struct {
		name, doc string
		want      string // in the error
		is        error
	}{
		{name: "malformed", doc: "Stack: s\nRules: [\n", want: "malformed document"},
		{name: "not-mapping", doc: "- a\n- b\n", want: "not a mapping"},
		{name: "empty", doc: "", want: "malformed document"},
		{name: "two-documents", doc: "Stack: a\n---\nStack: b\n", want: "more than one YAML document"},
		{name: "unknown-top", doc: "Stack: s\nBusses: []\n", want: `Busses: unknown field "Busses"`},
		{name: "unknown-nested", doc: "Stack: s\nRules:\n  - Name: r\n    ScheduleExpression: rate(1 day)\n    Targets:\n      - {Id: a, Arn: x, InputTransfomer: {}}\n",
			want: `Rules[0].Targets[0].InputTransfomer: unknown field`},
		{name: "unknown-deep", doc: "Stack: s\nRules:\n  - Name: r\n    ScheduleExpression: rate(1 day)\n    Targets:\n      - {Id: a, Arn: x, EcsParameters: {TaskDefinitionArn: t, NetworkConfiguration: {awsvpcConfiguration: {Subnets: [s], AssignPublicIP: ENABLED}}}}\n",
			want: `Rules[0].Targets[0].EcsParameters.NetworkConfiguration.awsvpcConfiguration.AssignPublicIP: unknown field "AssignPublicIP" (a AwsVpcConfiguration has AssignPublicIp, SecurityGroups, Subnets)`},
		{name: "target-wrong-kind", doc: "Stack: s\nRules:\n  - Name: r\n    ScheduleExpression: rate(1 day)\n    Targets:\n      - {Id: a, Arn: x, RetryPolicy: {MaximumRetryAttempts: three}}\n",
			want: "Rules[0].Targets[0].RetryPolicy.MaximumRetryAttempts: must be a number, got a string"},
		{name: "wrong-kind", doc: "Stack: s\nEventBuses:\n  - Name: [a]\n", want: "EventBuses[0].Name: must be a string"},
		{name: "no-stack", doc: "EventBuses: [{Name: a}]\n", want: "names no stack"},
		{name: "duplicate-key", doc: "Stack: s\nStack: t\n", want: `duplicate key "Stack"`},
		{name: "duplicate-rule", doc: "Stack: s\nRules:\n  - {Name: r, ScheduleExpression: rate(1 day)}\n  - {Name: r, ScheduleExpression: rate(2 days)}\n", want: "Rule default/r is declared twice"},
		{name: "rule-without-pattern", doc: "Stack: s\nRules: [{Name: r}]\n", want: "needs an EventPattern or a ScheduleExpression"},
		{name: "target-without-arn", doc: "Stack: s\nRules: [{Name: r, ScheduleExpression: rate(1 day), Targets: [{Id: a}]}]\n", want: "Rules[0].Targets[0].Arn: required"},
		{name: "bad-pattern", doc: "Stack: s\nRules: [{Name: r, EventPattern: '{nope'}]\n", want: "EventPattern: not JSON"},
		{name: "huge", doc: huge, is: ErrTooLarge},
		{name: "too-many-resources", doc: many, is: ErrTooLarge},
		{name: "alias-bomb", doc: bomb, is: ErrTooLarge},
		{name: "unknown-tag", doc: "Stack: !Bogus s\n", want: "unknown tag !Bogus"},
		{name: "merge-key", doc: "base: &b {Name: a}\nStack: s\nEventBuses: [{<<: *b}]\n", want: "merge keys"},

		{name: "cfn-ref-cycle", doc: "Resources:\n  A: {Type: AWS::Events::EventBus, Properties: {Name: !Ref B}}\n  B: {Type: AWS::Events::EventBus, Properties: {Name: !Sub '${A}-b'}}\n",
			want: "circular reference: A -> B -> A"},
		{name: "cfn-getatt-cycle", doc: "Resources:\n  A: {Type: AWS::Events::Archive, Properties: {ArchiveName: !Join ['-', [!GetAtt A.Arn]], SourceArn: x}}\n",
			want: "circular reference: A -> A"},
		{name: "cfn-condition-cycle", doc: "Conditions:\n  C: !Not [!Condition D]\n  D: !Not [!Condition C]\nResources:\n  A: {Type: AWS::Events::EventBus, Condition: C, Properties: {Name: a}}\n",
			want: "circular reference"},
		{name: "cfn-unknown-property", doc: "Resources:\n  R: {Type: AWS::Events::Rule, Properties: {ScheduleExpression: rate(1 day), Colour: red}}\n",
			want: "Resources.R.Properties.Colour: property not supported for AWS::Events::Rule"},
		{name: "cfn-unknown-target-field", doc: "Resources:\n  R: {Type: AWS::Events::Rule, Properties: {ScheduleExpression: rate(1 day), Targets: [{Id: a, Arn: b, Inptu: c}]}}\n",
			want: `Resources.R.Properties.Targets[0].Inptu: unknown field`},
		{name: "cfn-unknown-section", doc: "Resources: {}\nOutput: {}\n", want: "Output: unknown template section"},
		{name: "cfn-missing-parameter", doc: "Parameters: {Q: {Type: String}}\nResources: {}\n", want: "Parameters.Q: no value given"},
		{name: "cfn-not-allowed", doc: "Parameters: {Q: {Type: String, Default: x, AllowedValues: [a, b]}}\nResources: {}\n", want: "not one of the AllowedValues"},
		{name: "cfn-ref-missing", doc: "Resources:\n  A: {Type: AWS::Events::EventBus, Properties: {Name: !Ref Nope}}\n", want: "Ref to Nope: no such parameter or resource"},
		{name: "cfn-ref-skipped", doc: "Resources:\n  Q: {Type: AWS::SQS::Queue}\n  R: {Type: AWS::Events::Rule, Properties: {ScheduleExpression: rate(1 day), Targets: [{Id: a, Arn: !GetAtt Q.Arn}]}}\n",
			want: "a AWS::SQS::Queue is not applied by switchyard"},
		{name: "cfn-dependson-missing", doc: "Resources:\n  A: {Type: AWS::Events::EventBus, DependsOn: [Nope], Properties: {Name: a}}\n", want: "Resources.A.DependsOn: no resource Nope"},
		{name: "cfn-transform", doc: "Transform: AWS::Serverless-2016-10-31\nResources: {}\n", want: "Transform"},
		{name: "cfn-importvalue", doc: "Resources:\n  A: {Type: AWS::Events::EventBus, Properties: {Name: !ImportValue x}}\n", want: "Fn::ImportValue is not supported"},
		{name: "cfn-sub-unclosed", doc: "Resources:\n  A: {Type: AWS::Events::EventBus, Properties: {Name: !Sub 'a-${AWS::Region'}}\n", want: "unclosed ${"},
		{name: "rule-on-foreign-bus", doc: "Stack: s\nRules: [{Name: r, EventBusName: 'arn:aws:events:us-east-1:999988887777:event-bus/central', EventPattern: {source: [a]}}]\n",
			want: "Rules[0].EventBusName: arn:aws:events:us-east-1:999988887777:event-bus/central is a bus of another account or region"},
		{name: "bad-stack-name", doc: "Stack: 'a b)'\n", want: `Stack: "a b)" is not a stack name`},
		{name: "parameters-for-a-document", doc: "Stack: s\n", want: "parameters are for CloudFormation templates"},
		{name: "auth-unknown-field", doc: "Stack: s\nConnections: [{Name: c, AuthorizationType: BASIC, AuthParameters: {BasicAuthParameters: {Username: u, Pasword: p}}}]\n",
			want: `Connections[c].AuthParameters.BasicAuthParameters.Pasword: unknown field "Pasword"`},
		{name: "secret-not-set", doc: "Stack: s\nConnections: [{Name: c, AuthorizationType: BASIC, AuthParameters: {BasicAuthParameters: {Username: u, Password: {FromEnv: SWITCHYARD_TEST_UNSET_VAR}}}}]\n",
			want: "environment variable SWITCHYARD_TEST_UNSET_VAR is not set"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts := testOpts
			opts.Stack = ""
			if c.name == "parameters-for-a-document" {
				opts.Parameters = map[string]string{"A": "b"}
			}
			if strings.HasPrefix(c.name, "cfn-") {
				opts.Stack = "s"
			}
			doc, err := Read([]byte(c.doc), opts)
			if err == nil {
				err = doc.Resolve(Environment{Getenv: func(string) (string, bool) { return "", false }, ReadFile: os.ReadFile})
			}
			switch {
			case err == nil:
				t.Fatalf("accepted; want an error with %q", c.want)
			case c.is != nil && !errors.Is(err, c.is):
				t.Fatalf("got %v, want %v", err, c.is)
			case c.want != "" && !strings.Contains(err.Error(), c.want):
				t.Fatalf("got %q, want it to say %q", err, c.want)
			}
		})
	}
}

// TestResolveSecrets: secrets come from the environment and from files,
// never needing to be inline.
func TestResolveSecrets(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "secret")
	if err := os.WriteFile(file, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	doc, err := Read([]byte("Stack: s\nConnections:\n  - Name: c\n    AuthorizationType: OAUTH_CLIENT_CREDENTIALS\n    AuthParameters:\n      OAuthParameters:\n        AuthorizationEndpoint: https://auth.example.com/token\n        HttpMethod: POST\n        ClientParameters: {ClientID: id, ClientSecret: {FromFile: "+file+"}}\n      InvocationHttpParameters:\n        HeaderParameters: [{Key: X-Token, Value: {FromEnv: TOKEN}, IsValueSecret: true}]\n"), testOpts)
	if err != nil {
		t.Fatal(err)
	}
	env := Environment{Getenv: func(k string) (string, bool) { return map[string]string{"TOKEN": "from-env"}[k], k == "TOKEN" }, ReadFile: os.ReadFile}
	if err := doc.Resolve(env); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(doc.Connections[0].AuthParameters)
	for _, want := range []string{`"ClientSecret":"from-file"`, `"Value":"from-env"`} {
		if !strings.Contains(string(got), want) {
			t.Errorf("%s: no %s", got, want)
		}
	}
	// The plan shows no secret.
	p := Compare(doc, &Document{}, PlanOptions{})
	var b bytes.Buffer
	_ = p.Write(&b)
	if strings.Contains(b.String(), "from-") {
		t.Errorf("the plan shows a secret:\n%s", b.String())
	}
}

// FuzzRead: no document makes Read, Compare or Write panic, and what Read
// accepts plans against nothing without error.
func FuzzRead(f *testing.F) {
	files, _ := filepath.Glob("testdata/read/*")
	plans, _ := filepath.Glob("testdata/plan/*/*.yaml")
	for _, p := range append(files, plans...) {
		if strings.HasSuffix(p, ".golden") {
			continue
		}
		b, err := os.ReadFile(p)
		if err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-done:
			case <-time.After(10 * time.Second): // Read is linear in its input: far from this
				panic(fmt.Sprintf("HANG %q", data))
			}
		}()
		doc, err := Read(data, Options{Stack: "fuzz", Region: "us-east-1", Account: "123456789012", Parameters: map[string]string{}})
		if err != nil {
			return
		}
		p := Compare(doc, doc, PlanOptions{Prune: true})
		var b bytes.Buffer
		if err := p.Write(&b); err != nil {
			t.Fatal(err)
		}
	})
}

// failingCaller fails the operations it names, and records the others.
type failingCaller struct {
	fail  map[string]bool
	calls []string
}

func (c *failingCaller) Call(_ context.Context, op string, in, out any) error {
	if c.fail[op] {
		return errors.New("LimitExceededException: The requested resource exceeds the maximum number allowed.")
	}
	c.calls = append(c.calls, op)
	return nil
}

// TestApplyFailureSkipsDependents: when a bus cannot be made, its rules,
// their targets and its archive are reported as not attempted, naming the
// bus, and the rest still applies.
func TestApplyFailureSkipsDependents(t *testing.T) {
	doc, err := Read([]byte("Stack: s\nEventBuses: [{Name: b}]\nRules:\n  - {Name: r, EventBusName: b, ScheduleExpression: rate(1 day), Targets: [{Id: t, Arn: x}]}\n  - {Name: other, ScheduleExpression: rate(1 day)}\nArchives: [{ArchiveName: a, EventBusName: b}]\n"), testOpts)
	if err != nil {
		t.Fatal(err)
	}
	opts := PlanOptions{Region: "us-east-1", Account: "123456789012"}
	p := Compare(doc, &Document{}, opts)
	c := &failingCaller{fail: map[string]bool{"CreateEventBus": true}}
	res, err := p.Apply(context.Background(), c, opts)
	want := []string{
		"EventBus b: create: CreateEventBus: LimitExceededException",
		"Rule b/r: create: not attempted: EventBus b failed",
		"Target b/r/t: create: not attempted: Rule b/r failed",
		"Archive a: create: not attempted: EventBus b failed",
	}
	if err == nil || len(res.Failed) != len(want) {
		t.Fatalf("got %v", err)
	}
	for i, w := range want {
		if !strings.HasPrefix(res.Failed[i].Error(), w) {
			t.Errorf("failure %d: %q, want %q", i, res.Failed[i], w)
		}
	}
	if strings.Join(c.calls, ",") != "PutRule" || len(res.Done) != 1 {
		t.Errorf("calls %v, done %d: want the other rule's PutRule only", c.calls, len(res.Done))
	}
}
