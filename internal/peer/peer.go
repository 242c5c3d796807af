// Package peer joins Switchyard deployments that serve different regions,
// each with its own NATS JetStream, as two AWS regions are joined: the two
// regions of a global endpoint may be served by two deployments (one per
// site), and its events then cross between them.
//
// A deployment learns the others from its configuration: --region-peer
// REGION=URL names the deployment serving REGION and its API's URL, and
// --regions the regions it serves itself (Config). It calls its peers
// signed with SigV4 for the service "switchyard-peer" with one key
// (--region-peer-key-file), which the peer's credentials file lists with
// peer_regions, the regions the caller serves (package auth): only such a
// key may make these calls, and it may make no other.
//
// Three calls cross (Service serves them, Client makes them):
//
//   - StoreEvents: events of global endpoints, made here (their id, time,
//     account and source) and stored there as they are: forwarded
//     synchronously when an endpoint routes to the peer's region (package
//     ingest), and replicated from the peer outbox by a Sender, which
//     acknowledges them only once the peer has stored them.
//   - SyncEndpoints: the endpoints of this deployment's regions whose
//     secondary region the peer serves, so that the peer routes their
//     EndpointId too, by its own reading of the health check, when this
//     deployment is down (control.SyncPeerEndpoints).
//   - GetPeerInfo: the regions the peer serves, checked at start.
package peer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/ingest"
)

// Config is a deployment's view of its peers.
type Config struct {
	// Peers maps each region another deployment serves to that
	// deployment's API URL.
	Peers map[string]string
	// Regions are the regions this deployment serves; empty, every region
	// that is not a peer's.
	Regions []string
	// Key signs the calls to peers.
	Key Key
}

// Key is the access key a deployment signs its calls to peers with.
type Key struct {
	AccessKeyID     string `yaml:"access_key_id"`
	SecretAccessKey string `yaml:"secret_access_key"`
}

// ParsePeer parses one --region-peer value, REGION=URL.
func ParsePeer(v string) (region, u string, err error) {
	region, u, ok := strings.Cut(v, "=")
	if !ok || region == "" || u == "" {
		return "", "", fmt.Errorf("--region-peer %q: want REGION=URL, such as us-west-2=https://switchyard.west.example:4010", v)
	}
	if !control.ValidRegion(region) {
		return "", "", fmt.Errorf("--region-peer %q: %q is not a region name", v, region)
	}
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || (p.Path != "" && p.Path != "/") || p.RawQuery != "" {
		return "", "", fmt.Errorf("--region-peer %q: %q is not the http(s)://host:port URL of a Switchyard API", v, u)
	}
	return region, strings.TrimSuffix(u, "/"), nil
}

// LoadKey reads a --region-peer-key-file: YAML with access_key_id and
// secret_access_key, which must not be readable by others.
func LoadKey(path string) (Key, error) {
	var k Key
	fi, err := os.Stat(path)
	if err != nil {
		return k, fmt.Errorf("--region-peer-key-file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return k, fmt.Errorf("--region-peer-key-file %s: mode %v lets others read the key; chmod 600 it", path, fi.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return k, fmt.Errorf("--region-peer-key-file: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&k); err != nil {
		return k, fmt.Errorf("--region-peer-key-file %s: %w", path, err)
	}
	if k.AccessKeyID == "" || k.SecretAccessKey == "" {
		return k, fmt.Errorf("--region-peer-key-file %s: access_key_id and secret_access_key are required", path)
	}
	return k, nil
}

// Peers are the deployments serving other regions, as one deployment
// sees them. It is ingest's Peers.
type Peers struct {
	cfg     Config
	clients map[string]*Client
	log     *slog.Logger
}

var _ ingest.Peers = (*Peers)(nil)

// New checks cfg and returns its peers.
func New(cfg Config, log *slog.Logger) (*Peers, error) {
	p := &Peers{cfg: cfg, clients: map[string]*Client{}, log: log}
	for _, r := range cfg.Regions {
		if !control.ValidRegion(r) {
			return nil, fmt.Errorf("--regions: %q is not a region name", r)
		}
		if _, ok := cfg.Peers[r]; ok {
			return nil, fmt.Errorf("region %s is in --regions and also --region-peer's: a region is served by one deployment", r)
		}
	}
	if len(cfg.Peers) > 0 && (cfg.Key.AccessKeyID == "" || cfg.Key.SecretAccessKey == "") {
		return nil, errors.New("--region-peer needs --region-peer-key-file: the key the peers' credentials files list with peer_regions")
	}
	for r, u := range cfg.Peers {
		p.clients[r] = NewClient(r, u, cfg.Key)
	}
	return p, nil
}

// Remote reports whether another deployment serves region.
func (p *Peers) Remote(region string) bool { _, ok := p.cfg.Peers[region]; return ok }

// Serves reports whether this deployment serves region.
func (p *Peers) Serves(region string) bool {
	if p.Remote(region) {
		return false
	}
	return len(p.cfg.Regions) == 0 || slices.Contains(p.cfg.Regions, region)
}

// Regions are the peers' regions, sorted.
func (p *Peers) Regions() []string {
	out := make([]string, 0, len(p.cfg.Peers))
	for r := range p.cfg.Peers {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

// Forward stores events in the deployment serving region.
func (p *Peers) Forward(ctx context.Context, region string, events []ingest.PeerEvent) ([]ingest.PeerResult, error) {
	c := p.clients[region]
	if c == nil {
		return nil, fmt.Errorf("no deployment serves %s", region)
	}
	ctx, cancel := context.WithTimeout(ctx, forwardTimeout)
	defer cancel()
	return c.StoreEvents(ctx, events)
}

// forwardTimeout bounds a forward: a publisher waits at most this long
// for a peer that hangs, then gets a 503 its SDK retries.
const forwardTimeout = 5 * time.Second

// Check asks each peer which regions it serves, and fails when one does
// not serve the region it is configured for or refuses this deployment's
// key: a misconfiguration that would lose no events but route none. A
// peer that cannot be reached is logged only: the sites of a pair start
// independently.
func (p *Peers) Check(ctx context.Context) error {
	for _, r := range p.Regions() {
		c := p.clients[r]
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		info, err := c.Info(cctx)
		cancel()
		var ae *APIError
		switch {
		case errors.As(err, &ae) && !ae.Retryable():
			return fmt.Errorf("--region-peer %s=%s: the peer refused this deployment's key %s: %s: %s (list it in the peer's credentials file with peer_regions)",
				r, c.base, p.cfg.Key.AccessKeyID, ae.Code, ae.Message)
		case err != nil:
			p.log.Warn("peer: the deployment serving a peer region cannot be reached now; events for it wait", "region", r, "url", c.base, "err", err)
			continue
		}
		if !info.serves(r) {
			return fmt.Errorf("--region-peer %s=%s: that deployment does not serve %s (it serves %s)", r, c.base, r, info.describe())
		}
		for _, mine := range p.cfg.Regions {
			if !info.Caller.has(mine) {
				p.log.Warn("peer: the peer's credentials file does not give this deployment's key a region it serves: the peer will refuse its events",
					"peer_region", r, "region", mine, "peer_regions", info.Caller.PeerRegions)
			}
		}
		p.log.Info("peer: deployment serving a peer region reached", "region", r, "url", c.base)
	}
	return nil
}

// Info is GetPeerInfo's answer: what a deployment serves, and what it
// knows of its caller.
type Info struct {
	// Regions are the regions it serves; empty, every one but its peers'.
	Regions []string
	// PeerRegions are the regions its peers serve.
	PeerRegions []string
	// Caller is what it takes the caller for.
	Caller CallerInfo
}

// CallerInfo is the peer key's entry, as the called deployment has it.
type CallerInfo struct {
	AccessKeyID string
	PeerRegions []string
}

func (c CallerInfo) has(region string) bool { return slices.Contains(c.PeerRegions, region) }

func (i *Info) serves(region string) bool {
	if slices.Contains(i.PeerRegions, region) {
		return false
	}
	return len(i.Regions) == 0 || slices.Contains(i.Regions, region)
}

func (i *Info) describe() string {
	if len(i.Regions) > 0 {
		return strings.Join(i.Regions, ", ")
	}
	return "every region but " + strings.Join(i.PeerRegions, ", ")
}
