package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/nats-io/nats.go"

	"github.com/switchyard/switchyard/envelope"
)

// capture records every message published under sy.> on the NATS server
// at url: what Switchyard stores in its streams, as it stores it.
type capture struct {
	mu   sync.Mutex
	msgs []*nats.Msg
}

func captureNATS(t *testing.T, url string) *capture {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	c := &capture{}
	if _, err := nc.Subscribe("sy.>", func(m *nats.Msg) {
		c.mu.Lock()
		c.msgs = append(c.msgs, m)
		c.mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return c
}

// holding returns the subjects of the captured messages whose data holds
// text, and counts the messages by subject prefix.
func (c *capture) holding(text string) (found []string, bySubject map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	bySubject = map[string]int{}
	for _, m := range c.msgs {
		parts := strings.SplitN(m.Subject, ".", 3)
		bySubject[parts[0]+"."+parts[1]]++
		if bytes.Contains(m.Data, []byte(text)) {
			found = append(found, m.Subject)
		}
	}
	return found, bySubject
}

func receiveN(t *testing.T, q *sqs.Client, url string, n int) []sqstypes.Message {
	t.Helper()
	var got []sqstypes.Message
	eventually(t, fmt.Sprintf("%d messages on %s", n, url), func() bool {
		out, err := q.ReceiveMessage(ctx(t), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 1,
			MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"}})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, out.Messages...)
		return len(got) >= n
	})
	return got
}

func attr(m sqstypes.Message, name string) string {
	if v, ok := m.MessageAttributes[name]; ok {
		return aws.ToString(v.StringValue)
	}
	return ""
}

// TestKMSEncryptedBus runs a bus with a customer managed key of moto's
// KMS: its events reach an SQS target, none of what Switchyard stores of
// them (events stream, delivery tasks, archive) holds their plaintext, and
// once the key is disabled, new events go to the bus's dead-letter queue
// with ERROR_CODE and ERROR_MESSAGE. Removing the key loses nothing stored
// under it: it stores plaintext from then on, which the capture sees.
func TestKMSEncryptedBus(t *testing.T) {
	m := startMoto(t)
	url := startNATS(t)
	// Tasks stored before their first attempt, so that the delivery
	// stream holds every event's task; data keys last a second, so that
	// disabling the key shows at once.
	s := startServer(t, "--nats-url", url, "--aws-endpoint", m, "--store-first-attempts", "--kms-data-key-ttl", "1s")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("switchyard log:\n%s", s.logs())
		}
	})
	cx := ctx(t)
	cfg := motoConfig(m)
	km, q := kms.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	key, err := km.CreateKey(cx, &kms.CreateKeyInput{Description: aws.String("switchyard bus key")})
	if err != nil {
		t.Fatal(err)
	}
	keyArn := aws.ToString(key.KeyMetadata.Arn)
	n := time.Now().UnixNano()
	targetURL, targetArn := createQueue(t, q, fmt.Sprintf("kms-target-%d", n), nil)
	dlqURL, dlqArn := createQueue(t, q, fmt.Sprintf("kms-busdlq-%d", n), nil)
	eb := s.client(acct, "eu-central-1")
	bus := "secure"
	if _, err := eb.CreateEventBus(cx, &eventbridge.CreateEventBusInput{Name: aws.String(bus), KmsKeyIdentifier: aws.String(keyArn),
		DeadLetterConfig: &types.DeadLetterConfig{Arn: aws.String(dlqArn)}}); err != nil {
		t.Fatal(err)
	}
	d, err := eb.DescribeEventBus(cx, &eventbridge.DescribeEventBusInput{Name: aws.String(bus)})
	if err != nil || aws.ToString(d.KmsKeyIdentifier) != keyArn || aws.ToString(d.DeadLetterConfig.Arn) != dlqArn {
		t.Fatalf("DescribeEventBus: %+v %v", d, err)
	}
	busArn := aws.ToString(d.Arn)
	if _, err := eb.CreateArchive(cx, &eventbridge.CreateArchiveInput{ArchiveName: aws.String("secure-arc"), EventSourceArn: aws.String(busArn)}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutRule(cx, &eventbridge.PutRuleInput{Name: aws.String("r"), EventBusName: aws.String(bus),
		EventPattern: aws.String(`{"source":["app.secure"]}`)}); err != nil {
		t.Fatal(err)
	}
	if out, err := eb.PutTargets(cx, &eventbridge.PutTargetsInput{Rule: aws.String("r"), EventBusName: aws.String(bus),
		Targets: []types.Target{{Id: aws.String("q"), Arn: aws.String(targetArn)}}}); err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("PutTargets: %v %+v", err, out)
	}
	capt := captureNATS(t, url)
	put := func(marker string, n int) []string {
		t.Helper()
		entries := make([]types.PutEventsRequestEntry, n)
		for i := range entries {
			entries[i] = types.PutEventsRequestEntry{EventBusName: aws.String(bus), Source: aws.String("app.secure"), DetailType: aws.String("Secret"),
				Detail: aws.String(fmt.Sprintf(`{"card":%q,"i":%d}`, marker, i))}
		}
		out, err := eb.PutEvents(cx, &eventbridge.PutEventsInput{Entries: entries})
		if err != nil || out.FailedEntryCount != 0 {
			t.Fatalf("PutEvents: %v %+v", err, out)
		}
		var ids []string
		for _, e := range out.Entries {
			ids = append(ids, aws.ToString(e.EventId))
		}
		return ids
	}

	// Encrypted: delivered in plaintext, stored sealed.
	const secret = "4111-1111-1111-1111"
	put(secret, 3)
	for _, msg := range receiveN(t, q, targetURL, 3) {
		if !strings.Contains(aws.ToString(msg.Body), secret) {
			t.Errorf("target got %s", aws.ToString(msg.Body))
		}
	}
	eventually(t, "the archive's event", func() bool {
		a, err := eb.DescribeArchive(cx, &eventbridge.DescribeArchiveInput{ArchiveName: aws.String("secure-arc")})
		return err == nil && a.EventCount == 3
	})
	found, counts := capt.holding(secret)
	if len(found) > 0 {
		t.Errorf("stored in plaintext on %v", found)
	}
	for _, p := range []string{"sy.events", "sy.deliver", "sy.archive"} {
		if counts[p] == 0 {
			t.Errorf("nothing captured on %s (captured: %v): the check above saw nothing", p, counts)
		}
	}
	capt.mu.Lock()
	for _, m := range capt.msgs {
		sealed := envelope.IsSealed(m.Data) || bytes.HasPrefix(m.Data, []byte("SYT\x02"))
		if strings.HasPrefix(m.Subject, "sy.events.") || strings.HasPrefix(m.Subject, "sy.archive.") || strings.HasPrefix(m.Subject, "sy.deliver.") {
			if !sealed {
				t.Errorf("%s stored unsealed: %.40q", m.Subject, m.Data)
			}
		}
	}
	capt.mu.Unlock()

	// The key disabled: PutEvents still accepts the events, which go to
	// the bus's dead-letter queue.
	if _, err := km.DisableKey(cx, &kms.DisableKeyInput{KeyId: key.KeyMetadata.KeyId}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond) // the cached data key expires
	const secret2 = "5500-0000-0000-0004"
	ids := put(secret2, 2)
	dead := receiveN(t, q, dlqURL, 2)
	seen := map[string]bool{}
	for _, msg := range dead {
		var ev event
		body := aws.ToString(msg.Body)
		if err := jsonUnmarshal(body, &ev); err != nil || !strings.Contains(string(ev.Detail), secret2) {
			t.Errorf("bus dead letter is not the event: %s", body)
		}
		seen[ev.ID] = true
		if c := attr(msg, "ERROR_CODE"); c != "NO_PERMISSIONS" {
			t.Errorf("ERROR_CODE %q, want NO_PERMISSIONS", c)
		}
		if e := attr(msg, "ERROR_MESSAGE"); !strings.Contains(e, "DisabledException") {
			t.Errorf("ERROR_MESSAGE %q does not say the key is disabled", e)
		}
		if attr(msg, "RULE_ARN") != "" || attr(msg, "TARGET_ARN") != "" {
			t.Errorf("a bus dead letter names a rule or target: %v", msg.MessageAttributes)
		}
	}
	for _, id := range ids {
		if !seen[id] {
			t.Errorf("event %s accepted but not in the bus's dead-letter queue", id)
		}
	}

	// A bus under the disabled key without a dead-letter queue refuses
	// the entries instead.
	if _, err := eb.CreateEventBus(cx, &eventbridge.CreateEventBusInput{Name: aws.String("nodlq")}); err != nil {
		t.Fatal(err)
	}
	if _, err := km.EnableKey(cx, &kms.EnableKeyInput{KeyId: key.KeyMetadata.KeyId}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.UpdateEventBus(cx, &eventbridge.UpdateEventBusInput{Name: aws.String("nodlq"), KmsKeyIdentifier: aws.String(keyArn)}); err != nil {
		t.Fatal(err)
	}
	if _, err := km.DisableKey(cx, &kms.DisableKeyInput{KeyId: key.KeyMetadata.KeyId}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	out, err := eb.PutEvents(cx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{EventBusName: aws.String("nodlq"),
		Source: aws.String("app.secure"), DetailType: aws.String("Secret"), Detail: aws.String(`{}`)}}})
	if err != nil || out.FailedEntryCount != 1 || aws.ToString(out.Entries[0].ErrorCode) != "AccessDeniedException" ||
		!strings.Contains(aws.ToString(out.Entries[0].ErrorMessage), "disabled") {
		t.Fatalf("PutEvents to a bus under a disabled key without a DLQ: %v %+v", err, out)
	}
	// UpdateEventBus checks the key: a disabled one is refused.
	_, err = eb.UpdateEventBus(cx, &eventbridge.UpdateEventBusInput{Name: aws.String("nodlq"), KmsKeyIdentifier: aws.String(keyArn)})
	if err == nil || !strings.Contains(err.Error(), "ValidationException") || !strings.Contains(err.Error(), "DisabledException") {
		t.Fatalf("UpdateEventBus with a disabled key: %v", err)
	}

	// Enabled again, then the key removed: the bus stores plaintext, and
	// events stored under the key are still readable (the archive).
	if _, err := km.EnableKey(cx, &kms.EnableKeyInput{KeyId: key.KeyMetadata.KeyId}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.UpdateEventBus(cx, &eventbridge.UpdateEventBusInput{Name: aws.String(bus),
		DeadLetterConfig: &types.DeadLetterConfig{Arn: aws.String(dlqArn)}}); err != nil {
		t.Fatal(err)
	}
	const plain = "plain-after-key-removed"
	put(plain, 1)
	if msgs := receiveN(t, q, targetURL, 1); !strings.Contains(aws.ToString(msgs[0].Body), plain) {
		t.Errorf("target got %s", aws.ToString(msgs[0].Body))
	}
	eventually(t, "plaintext stored once the key is removed", func() bool {
		found, _ := capt.holding(plain)
		return len(found) > 0
	})

	// The archive keeps the events sealed under the key the bus no longer
	// has; a replay decrypts them (the key is enabled again).
	time.Sleep(1100 * time.Millisecond) // past the events' second
	a, err := eb.DescribeArchive(cx, &eventbridge.DescribeArchiveInput{ArchiveName: aws.String("secure-arc")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eb.StartReplay(cx, &eventbridge.StartReplayInput{ReplayName: aws.String("again"), EventSourceArn: a.ArchiveArn,
		EventStartTime: aws.Time(time.Now().Add(-time.Hour)), EventEndTime: aws.Time(time.Now()),
		Destination: &types.ReplayDestination{Arn: aws.String(busArn)}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the replay to complete", func() bool {
		d, err := eb.DescribeReplay(cx, &eventbridge.DescribeReplayInput{ReplayName: aws.String("again")})
		if err == nil && (d.State == types.ReplayStateFailed || d.State == types.ReplayStateCancelled) {
			t.Fatalf("replay %s: %s", d.State, aws.ToString(d.StateReason))
		}
		return err == nil && d.State == types.ReplayStateCompleted
	})
	replayed := 0
	for _, msg := range receiveN(t, q, targetURL, 4) {
		if strings.Contains(aws.ToString(msg.Body), secret) {
			replayed++
		}
	}
	if replayed != 3 {
		t.Errorf("replay delivered %d of the 3 encrypted archived events", replayed)
	}
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

// kmsProxy stands between Switchyard and moto's KMS: it forwards
// connections, or closes them at once (KMS refusing), or holds them
// without a byte (KMS hanging).
type kmsProxy struct {
	l    net.Listener
	mode atomic.Value // "forward", "close", "hang"
}

func startKMSProxy(t *testing.T, upstream string) *kmsProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &kmsProxy{l: l}
	p.mode.Store("forward")
	up := strings.TrimPrefix(upstream, "http://")
	var held []net.Conn
	var mu sync.Mutex
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
	})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			switch p.mode.Load() {
			case "close":
				c.Close()
			case "hang":
				mu.Lock()
				held = append(held, c)
				mu.Unlock()
			default:
				go func() {
					defer c.Close()
					u, err := net.Dial("tcp", up)
					if err != nil {
						return
					}
					defer u.Close()
					go func() { _, _ = io.Copy(u, c) }()
					_, _ = io.Copy(c, u)
				}()
			}
		}
	}()
	return p
}

// TestKMSUnavailable: KMS refusing connections, and KMS hanging, fail
// PutEvents to an encrypted bus within the --kms-timeout, retryably (an
// InternalException or a 503 the SDKs retry), and store nothing; a bus
// without a key is not affected. CreateEventBus checks the key
// (DescribeKey): a key that does not exist is a ValidationException, and
// KMS unreachable an InternalException.
func TestKMSUnavailable(t *testing.T) {
	m := startMoto(t)
	px := startKMSProxy(t, m)
	// Data keys last 100ms: each PutEvents below asks KMS again.
	s := startServer(t, "--aws-endpoint", "kms=http://"+px.l.Addr().String(), "--kms-timeout", "1s",
		"--kms-data-key-ttl", "100ms")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("switchyard log:\n%s", s.logs())
		}
	})
	cx := ctx(t)
	key, err := kms.NewFromConfig(motoConfig(m)).CreateKey(cx, &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	c := eventbridge.New(eventbridge.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://" + s.addr),
		Credentials: s.client(acct, "us-east-1").Options().Credentials, RetryMaxAttempts: 1})
	_, err = c.CreateEventBus(cx, &eventbridge.CreateEventBusInput{Name: aws.String("nokey"),
		KmsKeyIdentifier: aws.String("arn:aws:kms:us-west-2:" + motoAccount + ":key/1234abcd-12ab-34cd-56ef-1234567890ab")})
	if err == nil || !strings.Contains(err.Error(), "ValidationException") || !strings.Contains(err.Error(), "NotFoundException") {
		t.Fatalf("CreateEventBus with a key that does not exist: %v", err)
	}
	if _, err := c.CreateEventBus(cx, &eventbridge.CreateEventBusInput{Name: aws.String("enc"), KmsKeyIdentifier: key.KeyMetadata.Arn}); err != nil {
		t.Fatal(err)
	}
	putEnc := func() error {
		_, err := c.PutEvents(cx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{EventBusName: aws.String("enc"),
			Source: aws.String("a"), DetailType: aws.String("b"), Detail: aws.String(`{}`)}}})
		return err
	}
	if err := putEnc(); err != nil {
		t.Fatalf("PutEvents with KMS up: %v", err)
	}
	for _, mode := range []string{"close", "hang"} {
		px.mode.Store(mode)
		// The data key expires, and so does the retry delay (1s) after
		// the last failure.
		time.Sleep(1200 * time.Millisecond)
		t0 := time.Now()
		err := putEnc()
		took := time.Since(t0)
		t.Logf("PutEvents with KMS %s failed after %s: %v", mode, took.Round(time.Millisecond), err)
		if err == nil || !strings.Contains(err.Error(), "InternalException") && !strings.Contains(err.Error(), "ServiceUnavailableException") {
			t.Fatalf("PutEvents with KMS %s: %v, want a retryable InternalException or ServiceUnavailableException", mode, err)
		}
		if took > 4*time.Second {
			t.Errorf("PutEvents with KMS %s took %s, more than the 1s --kms-timeout allows", mode, took)
		}
		// Within the retry delay, the next call fails at once.
		t0 = time.Now()
		if err := putEnc(); err == nil || time.Since(t0) > 500*time.Millisecond {
			t.Errorf("PutEvents again with KMS %s: %v after %s, want a failure at once", mode, err, time.Since(t0))
		}
		out, err := c.PutEvents(cx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
			Source: aws.String("a"), DetailType: aws.String("b"), Detail: aws.String(`{}`)}}})
		if err != nil || out.FailedEntryCount != 0 {
			t.Fatalf("PutEvents to a bus without a key, KMS %s: %v %+v", mode, err, out)
		}
		_, err = c.UpdateEventBus(cx, &eventbridge.UpdateEventBusInput{Name: aws.String("enc"), KmsKeyIdentifier: key.KeyMetadata.Arn})
		if err == nil || !strings.Contains(err.Error(), "InternalException") {
			t.Fatalf("UpdateEventBus with KMS %s: %v, want InternalException", mode, err)
		}
	}
	if !strings.Contains(s.logs(), "key unavailable") {
		t.Errorf("the refusals are not for the key")
	}
	px.mode.Store("forward")
	if err := putEnc(); err != nil {
		t.Fatalf("PutEvents with KMS back: %v", err)
	}
}

// TestKMSCorruptCiphertext: a message of an encrypted bus whose stored
// ciphertext was altered does not decrypt; it goes, base64, to the bus's
// dead-letter queue with ERROR_CODE INVALID_PARAMETER, and the router goes
// on with the next events.
func TestKMSCorruptCiphertext(t *testing.T) {
	m := startMoto(t)
	url := startNATS(t)
	keyFile := filepath.Join(t.TempDir(), "bus.key")
	if err := os.WriteFile(keyFile, []byte(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))), 0o600); err != nil {
		t.Fatal(err)
	}
	// Tasks stored before their first attempt, so that one can be
	// corrupted too.
	s := startServer(t, "--nats-url", url, "--aws-endpoint", m, "--kms-local-key-file", keyFile, "--store-first-attempts")
	cx := ctx(t)
	q := sqs.NewFromConfig(motoConfig(m))
	n := time.Now().UnixNano()
	dlqURL, dlqArn := createQueue(t, q, fmt.Sprintf("kms-corrupt-dlq-%d", n), nil)
	targetDLQURL, targetDLQArn := createQueue(t, q, fmt.Sprintf("kms-corrupt-tdlq-%d", n), nil)
	eb := s.client(acct, "eu-central-1")
	if _, err := eb.CreateEventBus(cx, &eventbridge.CreateEventBusInput{Name: aws.String("enc"), KmsKeyIdentifier: aws.String("alias/bus"),
		DeadLetterConfig: &types.DeadLetterConfig{Arn: aws.String(dlqArn)}}); err != nil {
		t.Fatal(err)
	}
	rcv := newReceiver(t)
	if _, err := eb.PutRule(cx, &eventbridge.PutRuleInput{Name: aws.String("all"), EventBusName: aws.String("enc"),
		EventPattern: aws.String(`{"source":["s"]}`)}); err != nil {
		t.Fatal(err)
	}
	if out, err := eb.PutTargets(cx, &eventbridge.PutTargetsInput{Rule: aws.String("all"), EventBusName: aws.String("enc"),
		Targets: []types.Target{{Id: aws.String("r"), Arn: aws.String(rcv.URL), DeadLetterConfig: &types.DeadLetterConfig{Arn: aws.String(targetDLQArn)}}}}); err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("PutTargets: %v %+v", err, out)
	}
	capt := captureNATS(t, url)
	putOne := func(detail string) {
		out, err := eb.PutEvents(cx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{EventBusName: aws.String("enc"),
			Source: aws.String("s"), DetailType: aws.String("t"), Detail: aws.String(detail)}}})
		if err != nil || out.FailedEntryCount != 0 {
			t.Fatalf("PutEvents: %v %+v", err, out)
		}
	}
	putOne(`{"n":1}`)
	rcv.waitFor(t, 1, 15*time.Second)
	// The stored message, its last ciphertext byte flipped, published
	// again (a new message id).
	var stored *nats.Msg
	capt.mu.Lock()
	for _, m := range capt.msgs {
		if strings.HasPrefix(m.Subject, "sy.events.") {
			stored = m
		}
	}
	capt.mu.Unlock()
	if stored == nil || !envelope.IsSealed(stored.Data) {
		t.Fatalf("no sealed events-stream message captured")
	}
	bad := bytes.Clone(stored.Data)
	bad[len(bad)-1] ^= 1
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	msg := &nats.Msg{Subject: stored.Subject, Data: bad, Header: nats.Header{}}
	for k, v := range stored.Header {
		msg.Header[k] = v
	}
	msg.Header.Set("Nats-Msg-Id", "corrupt-1")
	if err := nc.PublishMsg(msg); err != nil {
		t.Fatal(err)
	}
	dl := receiveN(t, q, dlqURL, 1)[0]
	if c := attr(dl, "ERROR_CODE"); c != "INVALID_PARAMETER" {
		t.Errorf("ERROR_CODE %q, want INVALID_PARAMETER", c)
	}
	if body, err := base64.StdEncoding.DecodeString(aws.ToString(dl.Body)); err != nil || !bytes.Equal(body, bad) {
		t.Errorf("dead letter body is not the stored message, base64: %v", err)
	}
	putOne(`{"n":2}`)
	rcv.waitFor(t, 2, 15*time.Second)

	// A stored task whose sealed event was altered: its target's DLQ,
	// the stored event base64 (the head, with the target, is not sealed).
	var task *nats.Msg
	capt.mu.Lock()
	for _, m := range capt.msgs {
		if strings.HasPrefix(m.Subject, "sy.deliver.") && bytes.HasPrefix(m.Data, []byte("SYT\x02")) {
			task = m
		}
	}
	capt.mu.Unlock()
	if task == nil {
		t.Fatal("no sealed delivery task captured")
	}
	badTask := bytes.Clone(task.Data)
	badTask[len(badTask)-1] ^= 1
	tmsg := &nats.Msg{Subject: task.Subject, Data: badTask, Header: nats.Header{}}
	for k, v := range task.Header {
		tmsg.Header[k] = v
	}
	tmsg.Header.Set("Nats-Msg-Id", "corrupt-task-1")
	if err := nc.PublishMsg(tmsg); err != nil {
		t.Fatal(err)
	}
	tdl := receiveN(t, q, targetDLQURL, 1)[0]
	if c := attr(tdl, "ERROR_CODE"); c != "INVALID_PARAMETER" {
		t.Errorf("target dead letter ERROR_CODE %q, want INVALID_PARAMETER", c)
	}
	if attr(tdl, "TARGET_ARN") != rcv.URL || !strings.HasSuffix(attr(tdl, "RULE_ARN"), "rule/enc/all") {
		t.Errorf("target dead letter attributes %v", tdl.MessageAttributes)
	}
	if body, err := base64.StdEncoding.DecodeString(aws.ToString(tdl.Body)); err != nil || !envelope.IsSealed(body) {
		t.Errorf("target dead letter body is not the sealed event, base64: %v", err)
	}
	if n := len(rcv.received()); n != 2 {
		t.Errorf("the target got %d calls, want 2 (the corrupt task is not delivered)", n)
	}
}

// TestKMSKill9UnderLoad is TestFaultKill9UnderLoad on a default bus
// encrypted under a local key file: every acknowledged event is delivered
// across kill -9 and restart.
func TestKMSKill9UnderLoad(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "bus.key")
	if err := os.WriteFile(keyFile, []byte(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32))), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--kms-local-key-file", keyFile)
	c0 := s.client(acct, "us-east-1")
	if _, err := c0.UpdateEventBus(ctx(t), &eventbridge.UpdateEventBusInput{Name: aws.String("default"), KmsKeyIdentifier: aws.String("local")}); err != nil {
		t.Fatal(err)
	}
	rcv := newFaultReceiver(t)
	mustRule(t, c0, "default", "all", `{"source":["fault"]}`, rcv.URL)
	var mu sync.Mutex
	client := c0
	current := func() *eventbridge.Client { mu.Lock(); defer mu.Unlock(); return client }
	l := startLoad(t, current, 500)
	time.Sleep(2 * time.Second)
	s.kill9()
	time.Sleep(300 * time.Millisecond)
	s.restart()
	mu.Lock()
	client = s.client(acct, "us-east-1")
	mu.Unlock()
	time.Sleep(time.Second)
	l.end()
	tally(t, "kms-kill9", l, rcv, 90*time.Second, s)
}

// TestKMSCluster: two processes on one NATS share an encrypted bus (the
// same local key file): what one stores the other routes, unwrapping the
// data keys it did not make, and every event arrives.
func TestKMSCluster(t *testing.T) {
	url := startNATS(t)
	keyFile := filepath.Join(t.TempDir(), "bus.key")
	if err := os.WriteFile(keyFile, []byte(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{3}, 32))), 0o600); err != nil {
		t.Fatal(err)
	}
	secrets := newKeyFile(t, "secrets.key")
	a := startServer(t, "--nats-url", url, "--secrets-key-file", secrets, "--kms-local-key-file", keyFile)
	b := startServer(t, "--nats-url", url, "--secrets-key-file", secrets, "--kms-local-key-file", keyFile)
	ca, cb, cx := a.client(acct, "ap-south-1"), b.client(acct, "ap-south-1"), ctx(t)
	if _, err := ca.CreateEventBus(cx, &eventbridge.CreateEventBusInput{Name: aws.String("shared"), KmsKeyIdentifier: aws.String("alias/shared")}); err != nil {
		t.Fatal(err)
	}
	rcv := newReceiver(t)
	mustRule(t, ca, "shared", "all", `{"source":["c"]}`, rcv.URL)
	const calls = 40
	for i := range calls {
		c := ca
		if i%2 == 1 {
			c = cb
		}
		entries := make([]types.PutEventsRequestEntry, 10)
		for j := range entries {
			entries[j] = types.PutEventsRequestEntry{EventBusName: aws.String("shared"), Source: aws.String("c"), DetailType: aws.String("t"),
				Detail: aws.String(fmt.Sprintf(`{"i":%d,"j":%d}`, i, j))}
		}
		if out, err := c.PutEvents(cx, &eventbridge.PutEventsInput{Entries: entries}); err != nil || out.FailedEntryCount != 0 {
			t.Fatalf("PutEvents: %v %+v", err, out)
		}
	}
	got := rcv.waitFor(t, calls*10, 30*time.Second)
	seen := map[string]bool{}
	for _, body := range got {
		var ev event
		if err := json.Unmarshal(body, &ev); err != nil {
			t.Fatalf("not an event: %s", body)
		}
		seen[string(ev.Detail)] = true
	}
	if len(seen) != calls*10 {
		t.Errorf("%d distinct events delivered, want %d", len(seen), calls*10)
	}
	ra, rb := metricSum(t, a, "switchyard_match_events_total", ""), metricSum(t, b, "switchyard_match_events_total", "")
	t.Logf("routed: %v by one process, %v by the other", ra, rb)
	if ra == 0 || rb == 0 {
		t.Logf("one process routed everything: the other's data keys were not unwrapped here (load too small to split)")
	}
}

// TestKMSKeyIdentifierForms: CreateEventBus takes a key ARN, key id, alias
// name or alias ARN (API Reference, CreateEventBus); a key id or alias name
// names a key of the bus's account and region. Events of a bus created
// with each form are delivered. Malformed, oversized and unknown
// identifiers are refused with ValidationException.
func TestKMSKeyIdentifierForms(t *testing.T) {
	m := startMoto(t)
	s := startServer(t, "--aws-endpoint", m)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("switchyard log:\n%s", s.logs())
		}
	})
	cx := ctx(t)
	km := kms.NewFromConfig(motoConfig(m)) // us-west-2, moto's account
	key, err := km.CreateKey(cx, &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	alias := fmt.Sprintf("alias/sy-forms-%d", time.Now().UnixNano())
	if _, err := km.CreateAlias(cx, &kms.CreateAliasInput{AliasName: aws.String(alias), TargetKeyId: key.KeyMetadata.KeyId}); err != nil {
		t.Fatal(err)
	}
	// The buses are in moto's account and the keys' region, where a key
	// id or alias name resolves.
	eb := s.client(motoAccount, awsRegion)
	rcv := newReceiver(t)
	for i, tc := range []struct {
		name, id, wantErr string
	}{
		{"key ARN", aws.ToString(key.KeyMetadata.Arn), ""},
		{"key id", aws.ToString(key.KeyMetadata.KeyId), ""},
		{"alias name", alias, ""},
		{"alias ARN", "arn:aws:kms:" + awsRegion + ":" + motoAccount + ":" + alias, ""},
		{"unknown key id", "1234abcd-12ab-34cd-56ef-1234567890ab", "NotFoundException"},
		{"unknown alias", "alias/does-not-exist", "NotFoundException"},
		{"bad characters", "alias/has space", "ValidationException"},
		{"too long", "alias/" + strings.Repeat("a", 2043), "ValidationException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bus := fmt.Sprintf("forms-%d", i)
			_, err := eb.CreateEventBus(cx, &eventbridge.CreateEventBusInput{Name: aws.String(bus), KmsKeyIdentifier: aws.String(tc.id)})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), "ValidationException") || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("CreateEventBus with %q: %v, want ValidationException (%s)", tc.id, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			mustRule(t, eb, bus, "all", `{"source":["forms"]}`, rcv.URL)
			before := len(rcv.received())
			if out, err := eb.PutEvents(cx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{EventBusName: aws.String(bus),
				Source: aws.String("forms"), DetailType: aws.String("t"), Detail: aws.String(`{}`)}}}); err != nil || out.FailedEntryCount != 0 {
				t.Fatalf("PutEvents: %v %+v", err, out)
			}
			rcv.waitFor(t, before+1, 15*time.Second)
		})
	}
	// An archive's own key is checked the same way.
	busArn := "arn:aws:events:" + awsRegion + ":" + motoAccount + ":event-bus/forms-0"
	_, err = eb.CreateArchive(cx, &eventbridge.CreateArchiveInput{ArchiveName: aws.String("forms-arc"), EventSourceArn: aws.String(busArn),
		KmsKeyIdentifier: aws.String("alias/does-not-exist")})
	if err == nil || !strings.Contains(err.Error(), "ValidationException") || !strings.Contains(err.Error(), "NotFoundException") {
		t.Fatalf("CreateArchive with an unknown key: %v", err)
	}
	if _, err := eb.CreateArchive(cx, &eventbridge.CreateArchiveInput{ArchiveName: aws.String("forms-arc"), EventSourceArn: aws.String(busArn),
		KmsKeyIdentifier: aws.String(alias)}); err != nil {
		t.Fatalf("CreateArchive with an alias: %v", err)
	}
}

// TestKMSLargeEvent: an event of the largest size PutEvents takes (1 MiB)
// on an encrypted bus, its task stored (the sealing adds a few hundred
// bytes to each stored form), arrives whole.
func TestKMSLargeEvent(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "bus.key")
	if err := os.WriteFile(keyFile, []byte(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{5}, 32))), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--kms-local-key-file", keyFile, "--store-first-attempts")
	c, cx := s.client(acct, "us-east-1"), ctx(t)
	if _, err := c.UpdateEventBus(cx, &eventbridge.UpdateEventBusInput{Name: aws.String("default"), KmsKeyIdentifier: aws.String("k")}); err != nil {
		t.Fatal(err)
	}
	rcv := newReceiver(t)
	mustRule(t, c, "default", "big", `{"source":["big"]}`, rcv.URL)
	detail := `{"pad":"` + strings.Repeat("p", 1<<20-64) + `"}`
	out, err := c.PutEvents(cx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{Source: aws.String("big"), DetailType: aws.String("t"), Detail: aws.String(detail)}}})
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("PutEvents of %d bytes: %v %+v", len(detail), err, out)
	}
	var ev event
	if err := json.Unmarshal(rcv.waitFor(t, 1, 15*time.Second)[0], &ev); err != nil {
		t.Fatal(err)
	}
	if string(ev.Detail) != detail {
		t.Errorf("delivered detail of %d bytes, want the %d sent", len(ev.Detail), len(detail))
	}
}
