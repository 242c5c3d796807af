package e2e

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/switchyard/switchyard/internal/testpeer"
)

// TestTargetRolesUnderIAM runs switchyard against a moto that enforces
// IAM (INITIAL_NO_AUTH_ACTION_COUNT: the setup's calls go through, every
// later call is authenticated and authorized), as an IAM user that may
// do nothing but assume one role, which may send to SQS. Like
// EventBridge's:
//   - a target with that role as its RoleArn is delivered, sent as the role;
//   - a target without a RoleArn is called as the user, refused (403),
//     and not retried;
//   - a target whose role the user may not assume fails at STS (403), and
//     is not retried.
func TestTargetRolesUnderIAM(t *testing.T) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		t.Skip("moto_server is not installed")
	}
	const setupCalls = 6 // the calls below with the admin credentials
	m, err := testpeer.StartMoto(bin, []string{fmt.Sprintf("INITIAL_NO_AUTH_ACTION_COUNT=%d", setupCalls)}, 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	cx := ctx(t)
	admin := motoConfig(m.URL)
	im := iam.NewFromConfig(admin)
	allowed := "arn:aws:iam::" + motoAccount + ":role/events-to-sqs"
	// 1-2: the user switchyard runs as, and its key.
	if _, err := im.CreateUser(cx, &iam.CreateUserInput{UserName: aws.String("switchyard")}); err != nil {
		t.Fatal(err)
	}
	key, err := im.CreateAccessKey(cx, &iam.CreateAccessKeyInput{UserName: aws.String("switchyard")})
	if err != nil {
		t.Fatal(err)
	}
	// 3: the user may assume the one role, and do nothing else.
	if _, err := im.PutUserPolicy(cx, &iam.PutUserPolicyInput{UserName: aws.String("switchyard"), PolicyName: aws.String("assume"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"` + allowed + `"}]}`)}); err != nil {
		t.Fatal(err)
	}
	// 4-5: the role, trusting the user, may use SQS.
	if _, err := im.CreateRole(cx, &iam.CreateRoleInput{RoleName: aws.String("events-to-sqs"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + motoAccount + `:user/switchyard"},"Action":"sts:AssumeRole"}]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := im.PutRolePolicy(cx, &iam.PutRolePolicyInput{RoleName: aws.String("events-to-sqs"), PolicyName: aws.String("sqs"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:*","Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	// 6: the queue.
	qurl, qarn := createQueue(t, sqs.NewFromConfig(admin), "roles", nil)

	user := credentials.NewStaticCredentialsProvider(aws.ToString(key.AccessKey.AccessKeyId), aws.ToString(key.AccessKey.SecretAccessKey), "")
	t.Setenv("AWS_ACCESS_KEY_ID", aws.ToString(key.AccessKey.AccessKeyId)) // switchyard's own credentials
	t.Setenv("AWS_SECRET_ACCESS_KEY", aws.ToString(key.AccessKey.SecretAccessKey))
	s := startServer(t, "--aws-endpoint", m.URL)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("switchyard log:\n%s", s.logs())
		}
	})
	eb := s.client(acct, "eu-central-1")
	for name, target := range map[string]types.Target{
		"as-role":     {Arn: aws.String(qarn), RoleArn: aws.String(allowed)},
		"as-self":     {Arn: aws.String(qarn)},
		"role-denied": {Arn: aws.String(qarn), RoleArn: aws.String("arn:aws:iam::" + motoAccount + ":role/not-for-switchyard")},
	} {
		if _, err := eb.PutRule(cx, &eventbridge.PutRuleInput{Name: aws.String(name), EventPattern: aws.String(`{"source":["test.roles"]}`)}); err != nil {
			t.Fatal(err)
		}
		target.Id = aws.String("q")
		if out, err := eb.PutTargets(cx, &eventbridge.PutTargetsInput{Rule: aws.String(name), Targets: []types.Target{target}}); err != nil || out.FailedEntryCount != 0 {
			t.Fatalf("PutTargets %s: %v %+v", name, err, out)
		}
	}
	pe, err := eb.PutEvents(cx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
		Source: aws.String("test.roles"), DetailType: aws.String("Test"), Detail: aws.String(`{"r":1}`)}}})
	if err != nil || pe.FailedEntryCount != 0 {
		t.Fatalf("PutEvents: %v %+v", err, pe)
	}

	// Read the queue as the role: moto now refuses the admin's "test" key.
	asRole := admin.Copy()
	asRole.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(aws.Config{
		Region: awsRegion, BaseEndpoint: aws.String(m.URL), Credentials: user}), allowed))
	msg := receive(t, sqs.NewFromConfig(asRole), qurl)
	checkEnvelope(t, aws.ToString(msg.Body), aws.ToString(pe.Entries[0].EventId), "test.roles", `{"r":1}`)

	for _, rule := range []string{"as-self", "role-denied"} {
		label := `rule="` + rule + `"`
		eventually(t, rule+"'s failed invocation", func() bool {
			return metricSum(t, s, "switchyard_FailedInvocations_total", label) == 1
		})
	}
	time.Sleep(1500 * time.Millisecond) // a retry would come after about a second
	for _, rule := range []string{"as-role", "as-self", "role-denied"} {
		if n := metricSum(t, s, "switchyard_InvocationAttempts_total", `rule="`+rule+`"`); n != 1 {
			t.Errorf("%s: %v attempts, want 1", rule, n)
		}
	}
	if n := metricSum(t, s, "switchyard_SuccessfulInvocationAttempts_total", `rule="as-role"`); n != 1 {
		t.Errorf("as-role: %v successful attempts, want 1", n)
	}
	// Both refusals are a 403: SQS's to the user, STS's AssumeRole to the
	// other role. (moto's refusals under IAM are not in the shape the Go
	// SDK reads error codes from, so the log cannot name AccessDenied.)
	logs := s.logs()
	for _, want := range []string{"rule/as-self target_id=q", "rule/role-denied target_id=q", "STS: AssumeRole, https response error StatusCode: 403"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log does not say %q", want)
		}
	}
}
