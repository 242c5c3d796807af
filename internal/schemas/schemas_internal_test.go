package schemas

import (
	"encoding/base64"
	"errors"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/awserr"
	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/restapi"
)

var kvKey = regexp.MustCompile(`^[-/_=.A-Za-z0-9]+$`)

func TestTokRoundTrip(t *testing.T) {
	for _, name := range []string{"", "orders", "aws.events@ScheduledEvent", "a=b", "=2E", "x.y.z", "ünï", "a b/c", "@@"} {
		tk := tok(name)
		if strings.Contains(tk, ".") || !kvKey.MatchString(tk) {
			t.Errorf("tok(%q) = %q: not one valid key token", name, tk)
		}
		if got := untok(tk); got != name {
			t.Errorf("untok(tok(%q)) = %q", name, got)
		}
	}
}

// FuzzTok: every name is one valid KV key token, and comes back.
func FuzzTok(f *testing.F) {
	for _, s := range []string{"", "aws.events@ScheduledEvent", "=", "=3D", "a.b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		tk := tok(name)
		if strings.Contains(tk, ".") || !kvKey.MatchString(tk) {
			t.Fatalf("tok(%q) = %q", name, tk)
		}
		if got := untok(tk); got != name {
			t.Fatalf("untok(tok(%q)) = %q", name, got)
		}
	})
}

func TestDiscoveredName(t *testing.T) {
	for _, c := range []struct{ source, detailType, want string }{
		{"aws.ec2", "EC2 Instance State-change Notification", "aws.ec2@EC2InstanceStateChangeNotification"},
		{"aws.events", "Scheduled Event", "aws.events@ScheduledEvent"},
		{"users", "userCreated", "users@UserCreated"},
		{"aws.ssm", "Parameter Store Change", "aws.ssm@ParameterStoreChange"},
		{"app", "AWS API Call via CloudTrail", "app@AWSAPICallViaCloudTrail"},
		{"app", "--", "app@Object"},
	} {
		if got := DiscoveredName(c.source, c.detailType); got != c.want {
			t.Errorf("DiscoveredName(%q, %q) = %q, want %q", c.source, c.detailType, got, c.want)
		}
	}
}

var testScope = control.Scope{Account: "111122223333", Region: "us-east-1"}

func request(query url.Values) *restapi.Request {
	return &restapi.Request{HTTP: httptest.NewRequest("GET", "/v1/registries?"+query.Encode(), nil), Scope: testScope}
}

// tokenFor is a token as take makes them, for scope sc and listing list,
// issued at t.
func tokenFor(sc control.Scope, list string, t time.Time, last string) string {
	return page{list: sc.Account + "/" + sc.Region + "/" + list, now: t}.token(last)
}

func codeOf(err error) string {
	if ae, ok := awserr.As(err); ok {
		return ae.Code
	}
	return ""
}

func TestPaging(t *testing.T) {
	keys := []string{"a", "b", "c", "d", "e"}
	var got []string
	token := ""
	for {
		q := url.Values{"limit": {"2"}}
		if token != "" {
			q.Set("nextToken", token)
		}
		p, err := pageOf(request(q), "letters")
		if err != nil {
			t.Fatal(err)
		}
		from, to, next := p.take(keys)
		got = append(got, keys[from:to]...)
		if next == "" {
			break
		}
		token = next
	}
	if strings.Join(got, "") != "abcde" {
		t.Errorf("pages gave %v", got)
	}
	for _, c := range []struct {
		name  string
		query url.Values
	}{
		{"limit zero", url.Values{"limit": {"0"}}},
		{"limit too big", url.Values{"limit": {"101"}}},
		{"limit not a number", url.Values{"limit": {"ten"}}},
		{"token not base64", url.Values{"nextToken": {"!!!"}}},
		{"token of another listing", url.Values{"nextToken": {tokenFor(testScope, "other", time.Now(), "a")}}},
		{"token of another account", url.Values{"nextToken": {tokenFor(control.Scope{Account: "444455556666", Region: "us-east-1"}, "letters", time.Now(), "a")}}},
		{"token of another region", url.Values{"nextToken": {tokenFor(control.Scope{Account: "111122223333", Region: "eu-west-1"}, "letters", time.Now(), "a")}}},
		{"token expired", url.Values{"nextToken": {tokenFor(testScope, "letters", time.Now().Add(-25*time.Hour), "a")}}},
		{"token from the future", url.Values{"nextToken": {tokenFor(testScope, "letters", time.Now().Add(time.Hour), "a")}}},
		{"token without a key", url.Values{"nextToken": {tokenFor(testScope, "letters", time.Now(), "")}}},
		{"token of the old form", url.Values{"nextToken": {base64.RawURLEncoding.EncodeToString([]byte("letters\x00a"))}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := pageOf(request(c.query), "letters")
			if codeOf(err) != "BadRequestException" {
				t.Errorf("err = %v, want BadRequestException", err)
			}
		})
	}
}

// FuzzNextToken: any token is refused with a BadRequestException or
// accepted, never a panic; and one accepted pages forward only.
func FuzzNextToken(f *testing.F) {
	f.Add("")
	f.Add(tokenFor(testScope, "letters", time.Now(), "c"))
	f.Add("bGV0dGVycwBj==")
	f.Fuzz(func(t *testing.T, token string) {
		p, err := pageOf(request(url.Values{"nextToken": {token}}), "letters")
		if err != nil {
			if codeOf(err) != "BadRequestException" {
				t.Fatalf("err = %v", err)
			}
			return
		}
		keys := []string{"a", "b", "c"}
		from, to, _ := p.take(keys)
		if from > to || to > len(keys) {
			t.Fatalf("take = %d, %d", from, to)
		}
		for _, k := range keys[from:to] {
			if p.after != "" && k <= p.after {
				t.Fatalf("page after %q has %q", p.after, k)
			}
		}
	})
}

func TestCheckTags(t *testing.T) {
	many := map[string]string{}
	for i := range 51 {
		many[strings.Repeat("k", i+1)] = "v"
	}
	for _, c := range []struct {
		name string
		tags map[string]string
		ok   bool
	}{
		{"fine", map[string]string{"team": "shop"}, true},
		{"aws prefix", map[string]string{"aws:x": "y"}, false},
		{"empty key", map[string]string{"": "y"}, false},
		{"long key", map[string]string{strings.Repeat("k", 129): "y"}, false},
		{"long value", map[string]string{"k": strings.Repeat("v", 257)}, false},
		{"too many", many, false},
	} {
		err := checkTags(c.tags)
		if (err == nil) != c.ok {
			t.Errorf("%s: %v", c.name, err)
		}
		var fe *restapi.FieldError
		if err != nil && (!errors.As(err, &fe) || fe.Fields["Code"] != "BadRequestException") {
			t.Errorf("%s: error without its Code member: %v", c.name, err)
		}
	}
}

func TestSampleID(t *testing.T) {
	a := sampleID(testScope, "bus", "src", "Detail\r\nType", 100, 0)
	for _, other := range []string{
		sampleID(testScope, "bus", "src", "Detail\r\nType", 100, 1),
		sampleID(testScope, "bus", "src", "Detail\r\nType", 101, 0),
		sampleID(testScope, "bus", "src", "DetailType", 100, 0),
		sampleID(testScope, "bus", "srcDetail", "\r\nType", 100, 0),
	} {
		if other == a {
			t.Errorf("two samples share id %s", a)
		}
	}
	if a != sampleID(testScope, "bus", "src", "Detail\r\nType", 100, 0) {
		t.Error("one sample, two ids")
	}
	if strings.ContainsAny(a, "\r\n") || len(a) != 32 {
		t.Errorf("id %q", a)
	}
}
