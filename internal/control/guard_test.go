package control_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/internal/awserr"
	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/control/controltest"
	"github.com/switchyard/switchyard/internal/netguard"
	"github.com/switchyard/switchyard/internal/secretbox"
	"github.com/switchyard/switchyard/internal/store"
)

// TestDeniedAddressesRefusedAtCreation: a URL target, an API destination's
// InvocationEndpoint and an OAuth AuthorizationEndpoint given as a literal
// address in a denied range are refused with a ValidationException that
// names the address and the range; names, and addresses outside the
// ranges, are accepted (names are judged when dialled).
func TestDeniedAddressesRefusedAtCreation(t *testing.T) {
	_, ctl := controltest.Open(t, store.Config{})
	ctl.TargetGuard = netguard.Default()
	var err error
	if ctl.Secrets, err = secretbox.LoadOrCreate(filepath.Join(t.TempDir(), "k")); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sc := control.Scope{Account: "123456789012", Region: "us-east-1"}
	if _, err := ctl.PutRule(ctx, sc, control.RuleInput{Name: "r", EventPattern: guardRef(`{"source":["x"]}`)}); err != nil {
		t.Fatal(err)
	}
	conn, err := ctl.CreateConnection(ctx, sc, control.ConnectionInput{Name: "key", AuthorizationType: control.AuthAPIKey,
		Auth: &control.ConnectionAuth{ApiKeyAuthParameters: &control.ApiKeyAuthParameters{ApiKeyName: "k", ApiKeyValue: "v"}}})
	if err != nil {
		t.Fatal(err)
	}
	oauth := func(endpoint string) *control.ConnectionAuth {
		return &control.ConnectionAuth{OAuthParameters: &control.OAuthParameters{AuthorizationEndpoint: endpoint, HttpMethod: "POST",
			ClientParameters: control.OAuthClientParameters{ClientID: "id", ClientSecret: "s"}}}
	}
	n := 0
	for _, tc := range []struct {
		url, addr, prefix string // addr and prefix: what the refusal names; "" when accepted
	}{
		{"http://169.254.169.254/latest/meta-data", "169.254.169.254", "169.254.0.0/16"},
		{"https://169.254.170.2/v2/credentials", "169.254.170.2", "169.254.0.0/16"},
		{"http://[fd00:ec2::254]/latest/meta-data", "fd00:ec2::254", "fd00:ec2::254/128"},
		{"http://[::ffff:169.254.169.254]/", "::ffff:169.254.169.254", "169.254.0.0/16"},
		{"http://100.100.100.200/latest/meta-data", "100.100.100.200", "100.100.100.200/32"},
		{"http://0xa9fea9fe/", "169.254.169.254", "169.254.0.0/16"},
		{"http://metadata.google.internal/computeMetadata/v1/", "", ""},
		{"http://127.0.0.1:8080/events", "", ""},
		{"https://example.com/hook", "", ""},
	} {
		n++
		id := string(rune('a' + n))
		for _, op := range []struct {
			name string
			call func() error
		}{
			{"PutTargets", func() error {
				_, err := ctl.PutTargets(ctx, sc, "", "r", []control.Target{{Id: id, Arn: tc.url}})
				return err
			}},
			{"CreateApiDestination", func() error {
				_, err := ctl.CreateApiDestination(ctx, sc, control.ApiDestinationInput{Name: "d" + id, ConnectionArn: guardRef(conn.ARN()),
					InvocationEndpoint: guardRef(tc.url), HttpMethod: guardRef("POST")})
				return err
			}},
			{"UpdateApiDestination", func() error {
				_, err := ctl.UpdateApiDestination(ctx, sc, control.ApiDestinationInput{Name: "key-dest", InvocationEndpoint: guardRef(tc.url)})
				return err
			}},
			{"CreateConnection", func() error {
				_, err := ctl.CreateConnection(ctx, sc, control.ConnectionInput{Name: "o" + id, AuthorizationType: control.AuthOAuth, Auth: oauth(tc.url)})
				return err
			}},
			{"UpdateConnection", func() error {
				_, err := ctl.UpdateConnection(ctx, sc, control.ConnectionInput{Name: "key", AuthorizationType: control.AuthOAuth, Auth: oauth(tc.url)})
				return err
			}},
		} {
			if op.name == "UpdateApiDestination" && n == 1 {
				if _, err := ctl.CreateApiDestination(ctx, sc, control.ApiDestinationInput{Name: "key-dest", ConnectionArn: guardRef(conn.ARN()),
					InvocationEndpoint: guardRef("https://example.com/"), HttpMethod: guardRef("POST")}); err != nil {
					t.Fatal(err)
				}
			}
			err := op.call()
			var ae *awserr.Error
			refused := errors.As(err, &ae) && ae.Code == awserr.CodeValidation && strings.Contains(ae.Message, "--deny-target-cidrs")
			switch {
			case tc.addr == "" && refused:
				t.Errorf("%s %s: refused: %v", op.name, tc.url, err)
			case tc.addr != "" && !refused:
				t.Errorf("%s %s: %v, want a ValidationException", op.name, tc.url, err)
			case tc.addr != "" && (!strings.Contains(ae.Message, " "+tc.addr+" ") || !strings.Contains(ae.Message, tc.prefix)):
				t.Errorf("%s %s: message %q does not name %s and %s", op.name, tc.url, ae.Message, tc.addr, tc.prefix)
			}
		}
	}

	// No guard: nothing is refused here.
	ctl.TargetGuard = nil
	if _, err := ctl.PutTargets(ctx, sc, "", "r", []control.Target{{Id: "meta", Arn: "http://169.254.169.254/"}}); err != nil {
		t.Errorf("without a guard: %v", err)
	}
}

func guardRef[T any](v T) *T { return &v }
