package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
)

// writeCert writes a self-signed certificate for 127.0.0.1 with the given
// serial number, and its key, as PEM files in dir.
func writeCert(t *testing.T, dir string, serial int64) (certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "switchyard test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if cert, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	// Written beside and renamed, so the server never reads half a file.
	for path, block := range map[string]*pem.Block{certFile: {Type: "CERTIFICATE", Bytes: der}, keyFile: {Type: "EC PRIVATE KEY", Bytes: kder}} {
		if err := os.WriteFile(path+".new", pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path+".new", path); err != nil {
			t.Fatal(err)
		}
	}
	return certFile, keyFile, cert
}

// With --tls-cert and --tls-key the API is served over TLS: an SDK client
// that trusts the certificate works, plain HTTP does not, and a renewed
// certificate is served without a restart.
func TestTLSListener(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, cert := writeCert(t, dir, 1)
	s := startServer(t, "--tls-cert", certFile, "--tls-key", keyFile)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	httpc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	c := eventbridge.New(eventbridge.Options{
		Region: "us-east-1", BaseEndpoint: aws.String("https://" + s.addr), HTTPClient: httpc,
		Credentials: credentials.NewStaticCredentialsProvider(acct, "secret", ""), RetryMaxAttempts: 1,
	})
	if _, err := c.CreateEventBus(ctx(t), &eventbridge.CreateEventBusInput{Name: aws.String("over-tls")}); err != nil {
		t.Fatalf("CreateEventBus over TLS: %v\n%s", err, s.logs())
	}
	if _, err := s.client(acct, "us-east-1").ListEventBuses(ctx(t), &eventbridge.ListEventBusesInput{}); err == nil {
		t.Error("plain HTTP to the TLS listener succeeded")
	}
	serial := func() int64 {
		conn, err := tls.Dial("tcp", s.addr, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
	}
	if got := serial(); got != 1 {
		t.Fatalf("serial %d, want 1", got)
	}
	time.Sleep(1100 * time.Millisecond) // a new modification time
	writeCert(t, dir, 2)
	deadline := time.Now().Add(15 * time.Second)
	for serial() != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the renewed certificate was not served within 15 s\n%s", s.logs())
		}
		time.Sleep(250 * time.Millisecond)
	}
}
