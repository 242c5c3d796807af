package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// rawCall posts body to the API as operation op, with the given
// Authorization header (none if empty), and returns the status and the
// decoded AWS error or result.
func rawCall(t testing.TB, s *server, op, auth string, body []byte) (int, map[string]any, int) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+s.addr+"/", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Target", "AWSEvents."+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s: read answer: %v", op, err)
	}
	var out map[string]any
	_ = json.Unmarshal(data, &out)
	return resp.StatusCode, out, len(data)
}

func sigv4Auth(key, region string) string {
	return "AWS4-HMAC-SHA256 Credential=" + key + "/20261206/" + region + "/events/aws4_request, SignedHeaders=host;x-amz-date, Signature=0123"
}

// alive fails the test unless the server still answers and its process
// still runs.
func alive(t *testing.T, s *server) {
	t.Helper()
	select {
	case <-s.exited:
		t.Fatalf("the server exited:\n%s", s.logs())
	default:
	}
	if _, err := s.client(acct, "us-east-1").ListEventBuses(ctx(t), &eventbridge.ListEventBusesInput{}); err != nil {
		t.Fatalf("the server no longer answers: %v\n%s", err, s.logs())
	}
}

// A credential scope naming a 4,100-character region once made every
// operation answer 500 and then the process exit: the region ended up in a
// NATS subject over NATS's control-line limit, and the server closed the
// process's only connection. The region is now refused at the door, as AWS
// refuses a credential scoped to a region that is not one.
func TestRegionFromCredentialIsValidated(t *testing.T) {
	s := startServer(t)
	long := "us-" + strings.Repeat("a", 4100) + "-1"
	for _, tc := range []struct{ region, msg string }{
		{long, "Credential should be scoped to a valid region. "},
		{"not_a_region", "Credential should be scoped to a valid region, not 'not_a_region'. "},
		{"us-east-1.x", "Credential should be scoped to a valid region, not 'us-east-1.x'. "},
	} {
		for _, op := range []string{"ListEventBuses", "CreateEventBus", "PutEvents"} {
			body := `{"Name":"b"}`
			if op == "PutEvents" {
				body = `{"Entries":[{"Source":"a","DetailType":"b","Detail":"{}"}]}`
			}
			status, out, _ := rawCall(t, s, op, sigv4Auth("AKIDEXAMPLE", tc.region), []byte(body))
			if status != http.StatusBadRequest || out["__type"] != "InvalidSignatureException" || out["message"] != tc.msg {
				t.Errorf("%s with region %.20q...: %d %v, want 400 InvalidSignatureException %q", op, tc.region, status, out, tc.msg)
			}
		}
	}
	// The fire endpoint reads the scope the same way.
	req, _ := http.NewRequest(http.MethodPost, "http://"+s.addr+"/_switchyard/rules/fire", strings.NewReader(`{"Name":"r"}`))
	req.Header.Set("Authorization", sigv4Auth("AKIDEXAMPLE", long))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("fire with a long region: status %d, want 400", resp.StatusCode)
	}
	time.Sleep(time.Second) // the process used to exit shortly after the answer
	alive(t, s)
	// A real region still selects its own scope.
	c := s.client("444455556666", "ap-southeast-2")
	if _, err := c.CreateEventBus(ctx(t), &eventbridge.CreateEventBusInput{Name: aws.String("after")}); err != nil {
		t.Fatal(err)
	}
	out, err := c.DescribeEventBus(ctx(t), &eventbridge.DescribeEventBusInput{Name: aws.String("after")})
	if err != nil || aws.ToString(out.Arn) != "arn:aws:events:ap-southeast-2:444455556666:event-bus/after" {
		t.Fatalf("DescribeEventBus = %v, %v", out, err)
	}
}

// vmHWM reads the peak resident set of a process, in bytes.
func vmHWM(t *testing.T, pid int) int64 {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/<pid>/status")
	return 0
}

// The memory attack of issue 13: 64 concurrent PutEvents bodies of about
// 3.6 MB, each of 70,000 invalid entries, took the server's resident set
// from 540 MB to 2.85 GB, and each answer repeated every entry (1.26 MB).
// Now a request of more than 10 entries is refused before its entries are
// decoded, its answer is short, and the bodies in flight are bounded as a
// whole, in pooled buffers. The peak RSS bound below is generous (it
// measured 170 MB; a seventh of what it was); docs/reliability.md records
// the figures.
func TestManyEntriesAttackIsCheap(t *testing.T) {
	s := startServer(t)
	var b bytes.Buffer
	b.WriteString(`{"Entries":[`)
	for i := 0; i < 70000; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"Source":"","DetailType":"x","Detail":"not json"}`)
	}
	b.WriteString(`]}`)
	body := b.Bytes()
	if len(body) < 3_500_000 {
		t.Fatalf("attack body is %d bytes", len(body))
	}
	before := vmHWM(t, s.cmd.Process.Pid)
	var wg sync.WaitGroup
	var mu sync.Mutex
	answers := map[string]int{}
	largest := 0
	for round := 0; round < 3; round++ {
		for i := 0; i < 64; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				status, out, size := rawCall(t, s, "PutEvents", "", body)
				mu.Lock()
				defer mu.Unlock()
				answers[fmt.Sprintf("%d %v", status, out["__type"])]++
				largest = max(largest, size)
				if out["__type"] == "ValidationException" && !strings.Contains(fmt.Sprint(out["message"]), "Member must have length less than or equal to 10") {
					t.Errorf("message = %v", out["message"])
				}
			}()
		}
		wg.Wait()
	}
	peak := vmHWM(t, s.cmd.Process.Pid)
	t.Logf("answers %v; largest answer %d bytes; peak RSS %d MB (before the attack %d MB)", answers, largest, peak>>20, before>>20)
	for k := range answers {
		if k != "400 ValidationException" && k != "400 ThrottlingException" {
			t.Errorf("answer %q, want only ValidationException or ThrottlingException", k)
		}
	}
	if largest > 4096 {
		t.Errorf("largest answer %d bytes, want a short one", largest)
	}
	if peak > 400<<20 {
		t.Errorf("peak RSS %d MB under the attack, want under 400 MB", peak>>20)
	}
	alive(t, s)
}

// The AWS JSON protocol is UTF-8. A request body with other bytes is
// refused whole with a SerializationException, as AWS's parser refuses it,
// instead of being decoded with U+FFFD in place of the bytes and stored as
// an event that is not what was sent.
func TestInvalidUTF8IsRefused(t *testing.T) {
	s := startServer(t)
	for name, body := range map[string][]byte{
		"in Source": []byte("{\"Entries\":[{\"Source\":\"app\xff\",\"DetailType\":\"t\",\"Detail\":\"{}\"}]}"),
		"in Detail": []byte("{\"Entries\":[{\"Source\":\"app\",\"DetailType\":\"t\",\"Detail\":\"{\\\"a\\\":\\\"\xc3\\\"}\"}]}"),
		"truncated": []byte("{\"Entries\":[{\"Source\":\"app\",\"DetailType\":\"t\xe2\x82\",\"Detail\":\"{}\"}]}"),
	} {
		status, out, _ := rawCall(t, s, "PutEvents", "", body)
		if status != http.StatusBadRequest || out["__type"] != "SerializationException" || !strings.Contains(fmt.Sprint(out["message"]), "Invalid UTF-8") {
			t.Errorf("%s: %d %v, want 400 SerializationException", name, status, out)
		}
	}
	// Valid UTF-8 beyond ASCII, and escapes, are events like any other.
	status, out, _ := rawCall(t, s, "PutEvents", "", []byte(`{"Entries":[{"Source":"app.ünïcode","DetailType":"t","Detail":"{\"a\":\"\u00e9 😀\"}"}]}`))
	if status != http.StatusOK || out["FailedEntryCount"] != float64(0) {
		t.Errorf("valid UTF-8: %d %v", status, out)
	}
}

// A Detail with an object that has the same key twice is refused with
// MalformedDetail, per entry. Such an event has no one meaning: RFC 8259
// leaves repeated names to each receiver (most keep the last value), AWS's
// engine event-ruler sees every occurrence (aws/event-ruler issue 22), and
// a matcher that stops reading a field once it has its value sees the
// first. Rules and targets would disagree about the same event, so it is
// not accepted; the other entries of the request are.
func TestDuplicateKeysInDetail(t *testing.T) {
	s := startServer(t)
	c := s.client(acct, "us-east-1")
	cx := ctx(t)
	out, err := c.PutEvents(cx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{
		{Source: aws.String("dup"), DetailType: aws.String("t"), Detail: aws.String(`{"state":"x","state":"y"}`)},
		{Source: aws.String("dup"), DetailType: aws.String("t"), Detail: aws.String(`{"a":{"b":1,"\u0062":2}}`)},
		{Source: aws.String("dup"), DetailType: aws.String("t"), Detail: aws.String(`{"a":{"b":1},"c":{"b":1}}`)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if out.FailedEntryCount != 2 {
		t.Errorf("FailedEntryCount = %d, want 2", out.FailedEntryCount)
	}
	for i, e := range out.Entries {
		ok := aws.ToString(e.EventId) != ""
		switch {
		case i < 2 && (ok || aws.ToString(e.ErrorCode) != "MalformedDetail" || aws.ToString(e.ErrorMessage) != "Detail is malformed."):
			t.Errorf("entry %d = %+v, want MalformedDetail", i, e)
		case i == 2 && !ok:
			t.Errorf("entry %d = %+v, want an EventId", i, e)
		}
	}
}

// An entry of almost 1 MiB, AWS's limit since January 2026, is accepted
// and reaches its target whole.
func TestLargeEventDelivered(t *testing.T) {
	s := startServer(t)
	c := s.client(acct, "us-east-1")
	rcv := newReceiver(t)
	mustRule(t, c, "default", "big", `{"source":["big"]}`, rcv.URL)
	pad := strings.Repeat("p", 1<<20-64)
	detail := `{"pad":"` + pad + `"}`
	out, err := c.PutEvents(ctx(t), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{Source: aws.String("big"), DetailType: aws.String("t"), Detail: aws.String(detail)}}})
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("PutEvents of %d bytes: %v %+v", len(detail), err, out)
	}
	got := rcv.waitFor(t, 1, 15*time.Second)
	var ev event
	if err := json.Unmarshal(got[0], &ev); err != nil {
		t.Fatal(err)
	}
	if string(ev.Detail) != detail {
		t.Errorf("delivered detail of %d bytes, want the %d sent", len(ev.Detail), len(detail))
	}
}
