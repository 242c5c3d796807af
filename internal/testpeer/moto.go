// Package testpeer starts the real peers Switchyard's tests deliver to:
// moto_server as the AWS endpoint (SQS, SNS, ...). Tests only.
package testpeer

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Account is moto's default account: queue ARNs name it.
const Account = "123456789012"

// Moto starts moto_server on a free loopback port for the test, waits
// until it answers, and returns its URL. It sets the AWS credential
// variables the SDK's default chain reads (for this process and any child
// it starts). The test is skipped when moto_server is not installed.
func Moto(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		t.Skip("moto_server not installed")
	}
	srv, err := StartMoto(bin, nil, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_REGION", "us-east-1")
	return srv.URL
}

// MotoServer is a running moto_server.
type MotoServer struct {
	URL string
	cmd *exec.Cmd
}

// StartMoto starts the moto_server bin on a free loopback port, with env
// added to this process's environment, and waits up to within for it to
// answer. It runs in its own process group, so that Stop ends the Python
// process behind a pyenv shim too, and is killed if this process dies.
func StartMoto(bin string, env []string, within time.Duration) (*MotoServer, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := lis.Addr().(*net.TCPAddr).Port
	lis.Close()
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &MotoServer{URL: "http://127.0.0.1:" + strconv.Itoa(port), cmd: cmd}
	deadline := time.Now().Add(within)
	for {
		resp, err := http.Get(s.URL + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return s, nil
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("moto_server did not answer on %s: %v", s.URL, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop kills the server's process group and waits for it.
func (s *MotoServer) Stop() {
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	_ = s.cmd.Wait()
}

// SQS returns an SQS client of the moto server at url.
func SQS(url, region string) *sqs.Client {
	return sqs.New(sqs.Options{Region: region, BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
}

// CreateQueue creates a standard queue and returns its ARN and URL.
func CreateQueue(t testing.TB, c *sqs.Client, name string) (arn, url string) {
	t.Helper()
	ctx := context.Background()
	out, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return "arn:aws:sqs:" + c.Options().Region + ":" + Account + ":" + name, aws.ToString(out.QueueUrl)
}

// Message is a received SQS message: body, string attributes, and system
// attributes (AWSTraceHeader, SentTimestamp, ...).
type Message struct {
	Body   string
	Attrs  map[string]string
	System map[string]string
}

// Drain receives (and deletes) every message currently in the queue,
// waiting up to within for at least n.
func Drain(t testing.TB, c *sqs.Client, url string, n int, within time.Duration) []Message {
	t.Helper()
	ctx := context.Background()
	var got []Message
	deadline := time.Now().Add(within)
	for {
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10,
			MessageAttributeNames: []string{"All"}, WaitTimeSeconds: 1,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll}})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			msg := Message{Body: aws.ToString(m.Body), Attrs: map[string]string{}, System: m.Attributes}
			for k, v := range m.MessageAttributes {
				msg.Attrs[k] = aws.ToString(v.StringValue)
			}
			got = append(got, msg)
			_, _ = c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle})
		}
		if len(out.Messages) == 0 && (len(got) >= n || time.Now().After(deadline)) {
			return got
		}
	}
}
