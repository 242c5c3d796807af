package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// TestHTTPSTargets: an https:// target is called over TLS and its
// certificate is verified. The trusted receiver's certificate is the only
// root switchyard trusts here (SSL_CERT_FILE, which Go's TLS reads as the
// system roots); a receiver with a certificate of its own, trusted by
// nothing, never sees a request.
func TestHTTPSTargets(t *testing.T) {
	bodies := make(chan []byte, 10)
	trusted := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies <- b
	}))
	defer trusted.Close()
	var untrustedCalls atomic.Int32
	untrusted := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		untrustedCalls.Add(1)
	}))
	untrusted.TLS = &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}}
	untrusted.StartTLS()
	defer untrusted.Close()

	roots := filepath.Join(t.TempDir(), "roots.pem")
	if err := os.WriteFile(roots, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: trusted.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSL_CERT_FILE", roots) // inherited by the switchyard process
	t.Setenv("SSL_CERT_DIR", t.TempDir())
	s := startServer(t)
	c := s.client(acct, "us-east-1")
	cx := ctx(t)
	if _, err := c.PutRule(cx, &eventbridge.PutRuleInput{Name: aws.String("tls"), EventPattern: aws.String(`{"source":["test.tls"]}`)}); err != nil {
		t.Fatal(err)
	}
	out, err := c.PutTargets(cx, &eventbridge.PutTargetsInput{Rule: aws.String("tls"), Targets: []types.Target{
		{Id: aws.String("trusted"), Arn: aws.String(trusted.URL + "/events")},
		{Id: aws.String("untrusted"), Arn: aws.String(untrusted.URL + "/events")},
	}})
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("PutTargets: %v %+v", err, out)
	}
	pe, err := c.PutEvents(cx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
		Source: aws.String("test.tls"), DetailType: aws.String("Test"), Detail: aws.String(`{"tls":true}`)}}})
	if err != nil || pe.FailedEntryCount != 0 {
		t.Fatalf("PutEvents: %v %+v", err, pe)
	}
	select {
	case b := <-bodies:
		if ev := decodeEvent(t, b); ev.ID != aws.ToString(pe.Entries[0].EventId) {
			t.Errorf("the trusted receiver got event %s, want %s", ev.ID, aws.ToString(pe.Entries[0].EventId))
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("the trusted https target got nothing in 15 s\n%s", s.logs())
	}
	// The untrusted target's first attempt fails in the handshake, before
	// any request; its retries (1 s apart at first) would fail alike.
	time.Sleep(2 * time.Second)
	if n := untrustedCalls.Load(); n != 0 {
		t.Errorf("the receiver with an untrusted certificate got %d requests, want 0", n)
	}
}

// selfSigned is a certificate for 127.0.0.1 that no one trusts.
func selfSigned(t *testing.T) tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "untrusted"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
