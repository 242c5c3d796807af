package e2e

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// applyDoc is a document in switchyard's own form: a bus with a policy,
// a connection whose API key comes from the environment, an API
// destination to a real HTTP peer, a rule on the bus targeting it through
// an input transformer, a scheduled rule on the default bus, an archive.
const applyDoc = `Stack: shop
EventBuses:
  - Name: shop
    Description: Shop events
    Tags: {team: checkout}
    Policy:
      Version: "2012-10-17"
      Statement:
        - Sid: AllowPartner
          Effect: Allow
          Principal: {AWS: "arn:aws:iam::444455556666:root"}
          Action: events:PutEvents
          Resource: arn:aws:events:us-east-1:111122223333:event-bus/shop
Connections:
  - Name: hooks
    AuthorizationType: API_KEY
    AuthParameters:
      ApiKeyAuthParameters:
        ApiKeyName: x-api-key
        ApiKeyValue: {FromEnv: HOOK_KEY}
ApiDestinations:
  - Name: hook
    ConnectionName: hooks
    InvocationEndpoint: PEER_URL/orders
    HttpMethod: POST
    InvocationRateLimitPerSecond: 10
Rules:
  - Name: placed
    EventBusName: shop
    Description: Orders placed
    EventPattern: {source: [shop.orders], detail-type: [OrderPlaced]}
    Tags: {tier: gold}
    Targets:
      - Id: hook
        Arn: "{{arn:api-destination/hook}}"
        InputTransformer:
          InputPathsMap: {id: $.detail.id}
          InputTemplate: '{"order": <id>}'
        RetryPolicy: {MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 600}
  - Name: nightly
    ScheduleExpression: rate(1 day)
    State: DISABLED
    Targets:
      - Id: bus
        Arn: arn:aws:events:us-east-1:111122223333:event-bus/shop
Archives:
  - ArchiveName: shop-archive
    EventBusName: shop
    RetentionDays: 7
`

func writeDoc(t *testing.T, name, doc string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestApply applies a document to a real server and checks every
// resource with the SDK; applies it again (nothing changes); edits and
// applies it (updates); prunes (only what the stack manages goes); and
// checks diff's exit codes and an event reaching the API destination.
func TestApply(t *testing.T) {
	s := startServer(t)
	eb := s.client(acct, "us-east-1")
	cx := ctx(t)
	peer := newHTTPPeer(t, nil)
	doc := strings.ReplaceAll(applyDoc, "PEER_URL", peer.URL)
	env := []string{"HOOK_KEY=k3y-from-env"}
	file := writeDoc(t, "shop.yaml", doc)

	out, errOut, code := cli(t, s, env, "diff", "-f", file)
	if code != 2 || !strings.Contains(out, "8 to create") {
		t.Fatalf("diff before apply: exit %d, want 2\n%s%s", code, out, errOut)
	}
	out, errOut, code = cli(t, s, env, "apply", "-f", file)
	if code != 0 || !strings.Contains(out, "Applied 8 of 8 changes") {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errOut)
	}

	// Every resource, as the SDK sees it.
	bus, err := eb.DescribeEventBus(cx, &eventbridge.DescribeEventBusInput{Name: aws.String("shop")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(bus.Description) != "Shop events" || !strings.Contains(aws.ToString(bus.Policy), "AllowPartner") {
		t.Errorf("bus: description %q policy %s", aws.ToString(bus.Description), aws.ToString(bus.Policy))
	}
	tags := func(arn string) map[string]string {
		t.Helper()
		out, err := eb.ListTagsForResource(cx, &eventbridge.ListTagsForResourceInput{ResourceARN: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, tg := range out.Tags {
			m[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
		}
		return m
	}
	if got := tags(aws.ToString(bus.Arn)); got["switchyard:managed-by"] != "shop" || got["team"] != "checkout" {
		t.Errorf("bus tags %v", got)
	}
	rule, err := eb.DescribeRule(cx, &eventbridge.DescribeRuleInput{Name: aws.String("placed"), EventBusName: aws.String("shop")})
	if err != nil {
		t.Fatal(err)
	}
	if !jsonEqual([]byte(aws.ToString(rule.EventPattern)), []byte(`{"source":["shop.orders"],"detail-type":["OrderPlaced"]}`)) ||
		rule.State != types.RuleStateEnabled || aws.ToString(rule.Description) != "Orders placed" {
		t.Errorf("rule placed: %s %s %q", aws.ToString(rule.EventPattern), rule.State, aws.ToString(rule.Description))
	}
	if got := tags(aws.ToString(rule.Arn)); got["switchyard:managed-by"] != "shop" || got["tier"] != "gold" {
		t.Errorf("rule tags %v", got)
	}
	dest, err := eb.DescribeApiDestination(cx, &eventbridge.DescribeApiDestinationInput{Name: aws.String("hook")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(dest.InvocationEndpoint) != peer.URL+"/orders" || aws.ToInt32(dest.InvocationRateLimitPerSecond) != 10 {
		t.Errorf("api destination: %+v", dest)
	}
	conn, err := eb.DescribeConnection(cx, &eventbridge.DescribeConnectionInput{Name: aws.String("hooks")})
	if err != nil {
		t.Fatal(err)
	}
	if conn.AuthorizationType != types.ConnectionAuthorizationTypeApiKey || aws.ToString(dest.ConnectionArn) != aws.ToString(conn.ConnectionArn) ||
		aws.ToString(conn.AuthParameters.ApiKeyAuthParameters.ApiKeyName) != "x-api-key" {
		t.Errorf("connection: %s, destination's %s", aws.ToString(conn.ConnectionArn), aws.ToString(dest.ConnectionArn))
	}
	targets, err := eb.ListTargetsByRule(cx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("placed"), EventBusName: aws.String("shop")})
	if err != nil {
		t.Fatal(err)
	}
	if len(targets.Targets) != 1 {
		t.Fatalf("targets %+v", targets.Targets)
	}
	tg := targets.Targets[0]
	if aws.ToString(tg.Arn) != aws.ToString(dest.ApiDestinationArn) || tg.InputTransformer == nil ||
		aws.ToString(tg.InputTransformer.InputTemplate) != `{"order": <id>}` || tg.RetryPolicy == nil ||
		aws.ToInt32(tg.RetryPolicy.MaximumRetryAttempts) != 3 {
		t.Errorf("target: %+v", tg)
	}
	nightly, err := eb.DescribeRule(cx, &eventbridge.DescribeRuleInput{Name: aws.String("nightly")})
	if err != nil || nightly.State != types.RuleStateDisabled || aws.ToString(nightly.ScheduleExpression) != "rate(1 day)" {
		t.Errorf("rule nightly: %v %+v", err, nightly)
	}
	arch, err := eb.DescribeArchive(cx, &eventbridge.DescribeArchiveInput{ArchiveName: aws.String("shop-archive")})
	if err != nil || aws.ToInt32(arch.RetentionDays) != 7 || aws.ToString(arch.EventSourceArn) != aws.ToString(bus.Arn) {
		t.Errorf("archive: %v %+v", err, arch)
	}

	// An event on the bus reaches the API destination, transformed, with
	// the key from the environment.
	pe, err := eb.PutEvents(cx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{EventBusName: aws.String("shop"),
		Source: aws.String("shop.orders"), DetailType: aws.String("OrderPlaced"), Detail: aws.String(`{"id":"o-42"}`)}}})
	if err != nil || pe.FailedEntryCount != 0 {
		t.Fatalf("PutEvents: %v %+v", err, pe)
	}
	hits := peer.wait(t, 1, 20*time.Second, func(hit) bool { return true })
	if !jsonEqual(hits[0].body, []byte(`{"order": "o-42"}`)) || hits[0].header.Get("x-api-key") != "k3y-from-env" || hits[0].path != "/orders" {
		t.Errorf("the API destination got %s %s key %q", hits[0].path, hits[0].body, hits[0].header.Get("x-api-key"))
	}

	// Idempotent: again, nothing changes, and diff says so.
	out, errOut, code = cli(t, s, env, "apply", "-f", file)
	if code != 0 || !strings.Contains(out, "No changes") {
		t.Fatalf("second apply: exit %d\n%s%s", code, out, errOut)
	}
	if out, errOut, code = cli(t, s, env, "diff", "-f", file); code != 0 {
		t.Fatalf("diff after apply: exit %d, want 0\n%s%s", code, out, errOut)
	}

	// Someone else's resources, which prune must leave.
	if _, err := eb.PutRule(cx, &eventbridge.PutRuleInput{Name: aws.String("hand-made"), EventBusName: aws.String("shop"),
		EventPattern: aws.String(`{"source":["x"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.CreateArchive(cx, &eventbridge.CreateArchiveInput{ArchiveName: aws.String("hand-archive"), EventSourceArn: bus.Arn}); err != nil {
		t.Fatal(err)
	}

	// Edit: updates in place; the scheduled rule and the archive leave
	// the document.
	edited := strings.NewReplacer("Description: Shop events", "Description: All shop events",
		"MaximumRetryAttempts: 3", "MaximumRetryAttempts: 5", "InvocationRateLimitPerSecond: 10", "InvocationRateLimitPerSecond: 20",
		"tier: gold", "tier: silver").Replace(doc)
	edited = edited[:strings.Index(edited, "  - Name: nightly")]
	file2 := writeDoc(t, "shop2.yaml", edited)
	out, errOut, code = cli(t, s, env, "diff", "-f", file2)
	if code != 2 || !strings.Contains(out, "0 to create, 4 to update, 0 to delete") ||
		!strings.Contains(out, `Description: "Shop events" -> "All shop events"`) || !strings.Contains(out, "MaximumRetryAttempts\":5") {
		t.Fatalf("diff of the edit: exit %d\n%s%s", code, out, errOut)
	}
	if out, errOut, code = cli(t, s, env, "apply", "-f", file2); code != 0 {
		t.Fatalf("apply of the edit: exit %d\n%s%s", code, out, errOut)
	}
	bus, _ = eb.DescribeEventBus(cx, &eventbridge.DescribeEventBusInput{Name: aws.String("shop")})
	dest, _ = eb.DescribeApiDestination(cx, &eventbridge.DescribeApiDestinationInput{Name: aws.String("hook")})
	targets, _ = eb.ListTargetsByRule(cx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("placed"), EventBusName: aws.String("shop")})
	if aws.ToString(bus.Description) != "All shop events" || aws.ToInt32(dest.InvocationRateLimitPerSecond) != 20 ||
		len(targets.Targets) != 1 || aws.ToInt32(targets.Targets[0].RetryPolicy.MaximumRetryAttempts) != 5 ||
		tags(aws.ToString(rule.Arn))["tier"] != "silver" {
		t.Errorf("after the edit: %q, rate %d, targets %+v, tags %v", aws.ToString(bus.Description),
			aws.ToInt32(dest.InvocationRateLimitPerSecond), targets.Targets, tags(aws.ToString(rule.Arn)))
	}
	// Without --prune nothing is deleted.
	if _, err := eb.DescribeRule(cx, &eventbridge.DescribeRuleInput{Name: aws.String("nightly")}); err != nil {
		t.Errorf("apply without --prune deleted the rule nightly: %v", err)
	}

	// --prune deletes what the stack made and no longer lists, only that.
	out, errOut, code = cli(t, s, env, "diff", "-f", file2, "--prune")
	if code != 2 || !strings.Contains(out, "- Rule default/nightly") || !strings.Contains(out, "- Target default/nightly/bus") ||
		!strings.Contains(out, "- Archive shop-archive") || strings.Contains(out, "hand-") {
		t.Fatalf("diff --prune: exit %d\n%s%s", code, out, errOut)
	}
	if out, errOut, code = cli(t, s, env, "apply", "-f", file2, "--prune", "--dry-run"); code != 0 {
		t.Fatalf("apply --dry-run: exit %d\n%s%s", code, out, errOut)
	}
	if _, err := eb.DescribeRule(cx, &eventbridge.DescribeRuleInput{Name: aws.String("nightly")}); err != nil {
		t.Errorf("apply --dry-run deleted the rule nightly: %v", err)
	}
	if out, errOut, code = cli(t, s, env, "apply", "-f", file2, "--prune"); code != 0 || !strings.Contains(out, "3 to delete") {
		t.Fatalf("apply --prune: exit %d\n%s%s", code, out, errOut)
	}
	if _, err := eb.DescribeRule(cx, &eventbridge.DescribeRuleInput{Name: aws.String("nightly")}); err == nil {
		t.Error("the rule nightly survived --prune")
	}
	if _, err := eb.DescribeArchive(cx, &eventbridge.DescribeArchiveInput{ArchiveName: aws.String("shop-archive")}); err == nil {
		t.Error("the archive shop-archive survived --prune")
	}
	if _, err := eb.DescribeRule(cx, &eventbridge.DescribeRuleInput{Name: aws.String("hand-made"), EventBusName: aws.String("shop")}); err != nil {
		t.Errorf("--prune deleted someone else's rule: %v", err)
	}
	if _, err := eb.DescribeArchive(cx, &eventbridge.DescribeArchiveInput{ArchiveName: aws.String("hand-archive")}); err != nil {
		t.Errorf("--prune deleted someone else's archive: %v", err)
	}
	if out, errOut, code = cli(t, s, env, "diff", "-f", file2, "--prune"); code != 0 {
		t.Fatalf("diff --prune after apply --prune: exit %d\n%s%s", code, out, errOut)
	}
}

// TestApplyHostile: bad documents are refused before anything changes,
// with the path or resource concerned; a failing resource is reported by
// name and the others still apply; a dead endpoint is an error, not a hang.
func TestApplyHostile(t *testing.T) {
	s := startServer(t)
	eb := s.client(acct, "us-east-1")
	cases := []struct {
		name, doc string
		want      string
	}{
		{"malformed", "Stack: s\nRules: [\n", "malformed document"},
		{"unknown-field", "Stack: s\nRules:\n  - Name: r\n    ScheduleExpression: rate(1 day)\n    Targets: [{Id: a, Arn: b, InputPth: $.x}]\n",
			`Rules[0].Targets[0].InputPth: unknown field`},
		{"ref-cycle", "Resources:\n  A: {Type: AWS::Events::EventBus, Properties: {Name: !Ref B}}\n  B: {Type: AWS::Events::EventBus, Properties: {Name: !Ref A}}\n",
			"circular reference"},
		{"huge", "Stack: s\nEventBuses:\n" + strings.Repeat("  - {Name: bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb}\n", 20000), "document too large"},
		{"secret-unset", "Stack: s\nConnections: [{Name: c, AuthorizationType: BASIC, AuthParameters: {BasicAuthParameters: {Username: u, Password: {FromEnv: NOT_SET_ANYWHERE}}}}]\n",
			"environment variable NOT_SET_ANYWHERE is not set"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, errOut, code := cli(t, s, nil, "apply", "-f", writeDoc(t, "doc.yaml", c.doc))
			if code != 1 || !strings.Contains(errOut, c.want) {
				t.Fatalf("exit %d, want 1 saying %q\n%s%s", code, c.want, out, errOut)
			}
		})
	}
	list, err := eb.ListEventBuses(ctx(t), &eventbridge.ListEventBusesInput{})
	if err != nil || len(list.EventBuses) != 1 {
		t.Errorf("a refused document changed something: %v %+v", err, list)
	}

	// One bad resource: reported with its name; the rest applies.
	bad := "Stack: s\nEventBuses: [{Name: good}]\nRules:\n  - Name: bad\n    EventPattern: '{\"source\": \"not-a-list\"}'\n  - Name: fine\n    ScheduleExpression: rate(1 hour)\n"
	out, errOut, code := cli(t, s, nil, "apply", "-f", writeDoc(t, "bad.yaml", bad))
	if code != 1 || !strings.Contains(errOut, "Rule default/bad: create: PutRule: InvalidEventPatternException") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if _, err := eb.DescribeRule(ctx(t), &eventbridge.DescribeRuleInput{Name: aws.String("fine")}); err != nil {
		t.Errorf("the good rule was not applied: %v", err)
	}

	// A server that accepts connections and never answers: the run fails
	// after --call-timeout, naming the call.
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	held := make(chan net.Conn, 16)
	t.Cleanup(func() {
		for {
			select {
			case c := <-held:
				c.Close()
			default:
				return
			}
		}
	})
	go func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			held <- c // held open, never answered
		}
	}()
	start := time.Now()
	cmdOut, cmdErr, code := cli(t, nil, nil, "apply", "-f", writeDoc(t, "hang.yaml", "Stack: s\nEventBuses: [{Name: x}]\n"),
		"--endpoint", "http://"+lis.Addr().String(), "--account", acct, "--call-timeout", "1s")
	if code != 1 || !strings.Contains(cmdErr, "ListEventBuses") || !strings.Contains(cmdErr, "deadline exceeded") || time.Since(start) > 20*time.Second {
		t.Errorf("hanging endpoint: exit %d after %v\n%s%s", code, time.Since(start), cmdOut, cmdErr)
	}

	// No server: an error naming the call, promptly.
	start = time.Now()
	cmdOut, cmdErr, code = cli(t, nil, nil, "diff", "-f", writeDoc(t, "ok.yaml", "Stack: s\nEventBuses: [{Name: x}]\n"),
		"--endpoint", "http://127.0.0.1:1", "--account", acct)
	if code != 1 || !strings.Contains(cmdErr, "ListEventBuses") || time.Since(start) > 20*time.Second {
		t.Errorf("dead endpoint: exit %d after %v\n%s%s", code, time.Since(start), cmdOut, cmdErr)
	}
}

// ordersTemplate is a CloudFormation template modelled on the examples of
// the AWS::Events::Rule page of the CloudFormation template reference
// (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-events-rule.html):
// a rule on a custom bus sending to an SQS queue through an input
// transformer, with a dead-letter queue and a retry policy, and an archive.
// The queues are parameters: switchyard applies AWS::Events::* only, and
// says it skips the AWS::SQS::QueuePolicy.
const ordersTemplate = `AWSTemplateFormatVersion: "2010-09-09"
Description: Orders to SQS, transformed, with a dead-letter queue
Parameters:
  QueueArn:
    Type: String
  DeadLetterQueueArn:
    Type: String
  Env:
    Type: String
    Default: dev
    AllowedValues: [dev, prod]
Conditions:
  IsProd: !Equals [!Ref Env, prod]
Resources:
  OrdersBus:
    Type: AWS::Events::EventBus
    Properties:
      Name: !Sub "${AWS::StackName}-bus"
      Tags:
        - Key: env
          Value: !Ref Env
  OrderPlacedRule:
    Type: AWS::Events::Rule
    Properties:
      Name: order-placed
      Description: !Join [" ", [Orders placed on, !Ref OrdersBus, in, !Ref "AWS::Region"]]
      EventBusName: !GetAtt OrdersBus.Arn
      EventPattern:
        source: [com.example.orders]
        detail-type: [OrderPlaced]
      State: ENABLED
      Targets:
        - Id: orders-queue
          Arn: !Ref QueueArn
          InputTransformer:
            InputPathsMap:
              id: $.detail.id
              total: $.detail.total
            InputTemplate: |
              {"order": <id>, "total": <total>, "rule": <aws.events.rule-name>}
          DeadLetterConfig:
            Arn: !Ref DeadLetterQueueArn
          RetryPolicy:
            MaximumRetryAttempts: !If [IsProd, 10, 4]
            MaximumEventAgeInSeconds: 3600
  OrdersArchive:
    Type: AWS::Events::Archive
    Properties:
      ArchiveName: !Sub "${AWS::StackName}-archive"
      SourceArn: !GetAtt OrdersBus.Arn
      RetentionDays: 3
  QueuePolicy:
    Type: AWS::SQS::QueuePolicy
    Properties:
      Queues: [!Ref QueueArn]
      PolicyDocument:
        Statement:
          - Effect: Allow
            Principal: {Service: events.amazonaws.com}
            Action: sqs:SendMessage
            Resource: !Ref QueueArn
            Condition: {ArnEquals: {aws:SourceArn: !GetAtt OrderPlacedRule.Arn}}
`

// TestApplyCloudFormation applies the template end to end against a real
// server delivering to moto's SQS: the resources exist as the template
// says, a second apply changes nothing, and an event put afterwards
// arrives in the queue transformed.
func TestApplyCloudFormation(t *testing.T) {
	e := newAWSTargetEnv(t)
	q := sqs.NewFromConfig(e.cfg)
	url, arn := createQueue(t, q, "cfn-orders", nil)
	_, dlqArn := createQueue(t, q, "cfn-orders-dlq", nil)
	file := writeDoc(t, "orders.yaml", ordersTemplate)
	args := []string{"-f", file, "--stack-name", "orders", "--region", "eu-central-1",
		"--parameter", "QueueArn=" + arn, "--parameter", "DeadLetterQueueArn=" + dlqArn}
	out, errOut, code := cli(t, e.s, nil, append([]string{"apply"}, args...)...)
	if code != 0 || !strings.Contains(out, "Applied 4 of 4 changes") ||
		!strings.Contains(out, "! skipped QueuePolicy (AWS::SQS::QueuePolicy)") {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errOut)
	}
	cx := ctx(t)
	rule, err := e.eb.DescribeRule(cx, &eventbridge.DescribeRuleInput{Name: aws.String("order-placed"), EventBusName: aws.String("orders-bus")})
	if err != nil || aws.ToString(rule.Description) != "Orders placed on orders-bus in eu-central-1" {
		t.Fatalf("rule: %v %+v", err, rule)
	}
	targets, err := e.eb.ListTargetsByRule(cx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("order-placed"), EventBusName: aws.String("orders-bus")})
	if err != nil || len(targets.Targets) != 1 {
		t.Fatalf("targets: %v %+v", err, targets)
	}
	tg := targets.Targets[0]
	if aws.ToString(tg.Arn) != arn || aws.ToString(tg.DeadLetterConfig.Arn) != dlqArn || aws.ToInt32(tg.RetryPolicy.MaximumRetryAttempts) != 4 {
		t.Errorf("target: %+v", tg)
	}
	if a, err := e.eb.DescribeArchive(cx, &eventbridge.DescribeArchiveInput{ArchiveName: aws.String("orders-archive")}); err != nil || aws.ToInt32(a.RetentionDays) != 3 {
		t.Errorf("archive: %v %+v", err, a)
	}
	if out, errOut, code = cli(t, e.s, nil, append([]string{"diff"}, args...)...); code != 0 || !strings.Contains(out, "No changes") {
		t.Fatalf("diff after apply: exit %d\n%s%s", code, out, errOut)
	}

	pe, err := e.eb.PutEvents(cx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{EventBusName: aws.String("orders-bus"),
		Source: aws.String("com.example.orders"), DetailType: aws.String("OrderPlaced"), Detail: aws.String(`{"id":"o-7","total":12.5}`)}}})
	if err != nil || pe.FailedEntryCount != 0 {
		t.Fatalf("PutEvents: %v %+v", err, pe)
	}
	body := aws.ToString(receive(t, q, url).Body)
	var got map[string]any
	if err := json.Unmarshal([]byte(body), &got); err != nil || got["order"] != "o-7" || got["total"] != 12.5 || got["rule"] != "order-placed" {
		t.Errorf("the queue got %s", body)
	}

	// A parameter change is an update of the target only.
	args[len(args)-1] = "DeadLetterQueueArn=" + arn
	if out, errOut, code = cli(t, e.s, nil, append([]string{"diff"}, args...)...); code != 2 ||
		!strings.Contains(out, "~ Target orders-bus/order-placed/orders-queue") || !strings.Contains(out, "0 to create, 1 to update") {
		t.Fatalf("diff with another DLQ: exit %d\n%s%s", code, out, errOut)
	}
}

// TestApplyScoped: a stack is per account and region. Applying one
// stack's document in two scopes makes two sets of resources, and pruning
// the stack to nothing in one leaves the other's alone.
func TestApplyScoped(t *testing.T) {
	s := startServer(t)
	const other = "222233334444"
	doc := writeDoc(t, "s.yaml", "Stack: scoped\nEventBuses: [{Name: scoped}]\nRules: [{Name: r, EventBusName: scoped, EventPattern: {source: [app]}}]\n")
	empty := writeDoc(t, "empty.yaml", "Stack: scoped\n")
	run := func(account, region string, args ...string) {
		t.Helper()
		args = append(args, "--endpoint", "http://"+s.addr, "--account", account, "--region", region)
		if out, errOut, code := cli(t, nil, nil, args...); code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, errOut)
		}
	}
	run(acct, "us-east-1", "apply", "-f", doc)
	run(other, "us-east-1", "apply", "-f", doc)
	run(acct, "eu-west-1", "apply", "-f", doc)
	run(other, "us-east-1", "apply", "-f", empty, "--prune")
	for _, sc := range []struct {
		account, region string
		exists          bool
	}{{acct, "us-east-1", true}, {acct, "eu-west-1", true}, {other, "us-east-1", false}} {
		_, err := s.client(sc.account, sc.region).DescribeRule(ctx(t), &eventbridge.DescribeRuleInput{Name: aws.String("r"), EventBusName: aws.String("scoped")})
		if (err == nil) != sc.exists {
			t.Errorf("%s %s: rule exists %v, want %v (%v)", sc.account, sc.region, err == nil, sc.exists, err)
		}
	}
}

// TestApplyConnectionsIdempotent: connections of every kind, with
// invocation parameters secret and not, plan to no change once applied,
// though the API never returns their secrets and fills in defaults.
func TestApplyConnectionsIdempotent(t *testing.T) {
	s := startServer(t)
	secret := filepath.Join(t.TempDir(), "client-secret")
	if err := os.WriteFile(secret, []byte("cs-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	doc := writeDoc(t, "conns.yaml", `Stack: conns
Connections:
  - Name: basic
    Description: basic auth
    AuthorizationType: BASIC
    AuthParameters:
      BasicAuthParameters: {Username: u, Password: {FromEnv: PW}}
      InvocationHttpParameters:
        HeaderParameters:
          - {Key: X-Secret, Value: {FromEnv: PW}, IsValueSecret: true}
          - {Key: X-Plain, Value: plain}
        QueryStringParameters: [{Key: q, Value: v}]
        BodyParameters: [{Key: b, Value: w, IsValueSecret: false}]
  - Name: oauth
    AuthorizationType: OAUTH_CLIENT_CREDENTIALS
    AuthParameters:
      OAuthParameters:
        AuthorizationEndpoint: https://auth.example.com/oauth/token
        HttpMethod: POST
        ClientParameters: {ClientID: cid, ClientSecret: {FromFile: `+secret+`}}
        OAuthHttpParameters:
          BodyParameters: [{Key: grant_type, Value: client_credentials}]
ApiDestinations:
  - Name: wild
    ConnectionName: oauth
    InvocationEndpoint: https://api.example.com/*
    HttpMethod: GET
`)
	env := []string{"PW=pw-from-env"}
	if out, errOut, code := cli(t, s, env, "apply", "-f", doc); code != 0 || !strings.Contains(out, "Applied 3 of 3") {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errOut)
	}
	if out, errOut, code := cli(t, s, env, "diff", "-f", doc); code != 0 {
		t.Fatalf("diff after apply: exit %d\n%s%s", code, out, errOut)
	}
	c, err := s.client(acct, "us-east-1").DescribeConnection(ctx(t), &eventbridge.DescribeConnectionInput{Name: aws.String("oauth")})
	if err != nil || aws.ToString(c.AuthParameters.OAuthParameters.ClientParameters.ClientID) != "cid" ||
		aws.ToString(c.Description) != "(switchyard:managed-by=conns)" {
		t.Errorf("oauth connection: %v %+v", err, c)
	}
}

// TestApplySigned: under --auth sigv4, apply signs with the AWS
// credentials configured (no --account) and the template's
// AWS::AccountId is the account of those credentials.
func TestApplySigned(t *testing.T) {
	s, _ := startAuthServer(t, authKeys)
	tmpl := writeDoc(t, "signed.yaml", `Resources:
  Fanout:
    Type: AWS::Events::Rule
    Properties:
      Name: fanout
      EventPattern: {source: [app]}
      Targets:
        - Id: central
          Arn: !Sub "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/central"
  Central:
    Type: AWS::Events::EventBus
    Properties: {Name: central}
`)
	env := []string{"AWS_ACCESS_KEY_ID=AKIAALICEEXAMPLE", "AWS_SECRET_ACCESS_KEY=alice/secret+KEY", "AWS_REGION=eu-west-1"}
	args := []string{"-f", tmpl, "--endpoint", "http://" + s.addr}
	if out, errOut, code := cli(t, nil, env, append([]string{"apply"}, args...)...); code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errOut)
	}
	if out, errOut, code := cli(t, nil, env, append([]string{"diff"}, args...)...); code != 0 {
		t.Fatalf("diff: exit %d\n%s%s", code, out, errOut)
	}
	eb := s.signedClient("AKIAALICEEXAMPLE", "alice/secret+KEY", "", "eu-west-1")
	out, err := eb.ListTargetsByRule(ctx(t), &eventbridge.ListTargetsByRuleInput{Rule: aws.String("fanout")})
	if err != nil || len(out.Targets) != 1 || aws.ToString(out.Targets[0].Arn) != "arn:aws:events:eu-west-1:111122223333:event-bus/central" {
		t.Fatalf("targets: %v %+v", err, out)
	}
	// Wrong credentials: AWS's error, nothing applied.
	bad := []string{"AWS_ACCESS_KEY_ID=AKIAALICEEXAMPLE", "AWS_SECRET_ACCESS_KEY=wrong", "AWS_REGION=eu-west-1"}
	if _, errOut, code := cli(t, nil, bad, append([]string{"diff"}, args...)...); code != 1 || !strings.Contains(errOut, "InvalidSignatureException") {
		t.Errorf("wrong secret: exit %d\n%s", code, errOut)
	}
}
