package putevents

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// signer signs a client's requests as an SDK does. Every request of a
// client has the same body, so the signature changes only with the
// second of X-Amz-Date: it is computed once a second, which keeps the
// load generator's own cost out of what the comparison measures while
// the server still verifies every request in full.
type signer struct {
	v4     *v4.Signer
	creds  aws.Credentials
	region string
	url    string
	body   []byte
	hash   string

	sec        int64
	auth, date string
}

func newSigner(cfg Config, url string, body []byte) *signer {
	sum := sha256.Sum256(body)
	return &signer{v4: v4.NewSigner(), creds: aws.Credentials{AccessKeyID: cfg.AccessKeyID, SecretAccessKey: cfg.SecretAccessKey},
		region: cfg.Region, url: url, body: body, hash: hex.EncodeToString(sum[:])}
}

// headers returns the Authorization and X-Amz-Date of a request sent at t.
func (s *signer) headers(t time.Time) (auth, date string, err error) {
	if sec := t.Unix(); sec != s.sec {
		req, err := http.NewRequest(http.MethodPost, s.url, bytes.NewReader(s.body))
		if err != nil {
			return "", "", err
		}
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("X-Amz-Target", "AWSEvents.PutEvents")
		if err := s.v4.SignHTTP(context.Background(), s.creds, req, s.hash, "events", s.region, t); err != nil {
			return "", "", err
		}
		s.sec, s.auth, s.date = sec, req.Header.Get("Authorization"), req.Header.Get("X-Amz-Date")
	}
	return s.auth, s.date, nil
}

// compareAuth runs the load against --auth none and --auth sigv4 children,
// alternately, cfg.Rounds times each, and reports the medians.
func compareAuth(ctx context.Context, cfg Config, out io.Writer) error {
	dir, err := os.MkdirTemp("", "switchyard-bench-auth-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	secret := make([]byte, 30)
	_, _ = rand.Read(secret)
	const keyID = "AKIABENCHEXAMPLE"
	credFile := filepath.Join(dir, "credentials.yaml")
	if err := os.WriteFile(credFile, fmt.Appendf(nil, "keys:\n  - access_key_id: %s\n    secret_access_key: %x\n    account: \"123456789012\"\n",
		keyID, secret), 0o600); err != nil {
		return err
	}
	base := slices.Clone(cfg.ServeArgs)
	none, sig := cfg, cfg
	none.ServeArgs = append(slices.Clone(base), "--auth", "none")
	sig.ServeArgs = append(slices.Clone(base), "--auth", "sigv4", "--credentials-file", credFile)
	sig.AccessKeyID, sig.SecretAccessKey = keyID, hex.EncodeToString(secret)

	var rates, cpus [2][]float64 // [none, sigv4]
	var failed uint64
	for round := range cfg.Rounds {
		for i, c := range []Config{none, sig} {
			name := [2]string{"auth none", "auth sigv4"}[i]
			if cfg.Rounds > 1 {
				name = fmt.Sprintf("%s (round %d)", name, round+1)
			}
			res, err := runSwitchyard(ctx, c, out, name)
			if err != nil {
				return err
			}
			failed += res.failed()
			rates[i] = append(rates[i], res.rate())
			if res.cpuProc > 0 && res.accepted > 0 {
				cpus[i] = append(cpus[i], float64(res.cpuProc.Microseconds())/float64(res.accepted))
			}
		}
	}
	rn, rs := median(rates[0]), median(rates[1])
	fmt.Fprintf(out, "sigv4 vs none (median of %d rounds): throughput %.0f vs %.0f events/s (%+.1f%%)", cfg.Rounds, rs, rn, 100*(rs/rn-1))
	if len(cpus[0]) > 0 && len(cpus[1]) > 0 {
		cn, cs := median(cpus[0]), median(cpus[1])
		fmt.Fprintf(out, "; server CPU %.1f vs %.1f µs/event (%+.1f%%)", cs, cn, 100*(cs/cn-1))
	}
	fmt.Fprintln(out)
	if failed > 0 {
		return fmt.Errorf("%d entries failed", failed)
	}
	return ctx.Err()
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
