// Package netguard refuses outbound connections to address ranges that a
// server's users must not reach through it: the cloud metadata and
// credential services above all, which answer anyone on the host with the
// host's own credentials (server-side request forgery).
//
// The check is made on the address actually connected to, not on the name
// in a URL: a name can resolve to a denied address, and can resolve to
// another one by the time it is dialled (DNS rebinding). Three hooks make
// it so:
//
//   - Control, for net.Dialer.Control: called on each socket after name
//     resolution and before connect(2), with the address about to be
//     dialled;
//   - Resolver, for dialers that resolve names themselves and then dial the
//     addresses they got (fasthttp's TCPDialer): the denied addresses are
//     removed from each answer, so they are never dialled;
//   - WrapDial, around a dial function of the form func(addr) (net.Conn,
//     error) (fasthttp's Dial): refuses a literal address before dialling
//     and, once connected, a connection whose remote address is denied,
//     whatever the dial function did.
//
// The package has no dependency on the server.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
)

// DefaultCIDRs are the ranges denied unless configured otherwise: where
// the clouds put their metadata and credential services, which must never
// be a target.
//
//   - 169.254.0.0/16, IPv4 link-local (RFC 3927). The metadata services of
//     AWS EC2 (169.254.169.254, docs.aws.amazon.com/AWSEC2/latest/UserGuide/
//     instancedata-data-retrieval.html), Google Compute Engine
//     (metadata.google.internal, cloud.google.com/compute/docs/metadata/
//     querying-metadata), Azure (learn.microsoft.com/azure/virtual-machines/
//     instance-metadata-service), Oracle Cloud (docs.oracle.com/iaas/Content/
//     Compute/Tasks/gettingmetadata.htm) and OpenStack are all at
//     169.254.169.254; AWS ECS's task credentials are at 169.254.170.2
//     (docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html)
//     and the EKS Pod Identity Agent at 169.254.170.23.
//   - fe80::/10, IPv6 link-local (RFC 4291): OpenStack's IPv6 metadata
//     service is fe80::a9fe:a9fe (specs.openstack.org, "IPv6 support in
//     Metadata service").
//   - fd00:ec2::254/128, the IPv6 address of EC2's instance metadata
//     service (the same page as its IPv4 address above).
//   - fd00:ec2::23/128, the IPv6 address of the EKS Pod Identity Agent,
//     which hands out a pod's AWS credentials (docs.aws.amazon.com/eks/
//     latest/userguide/pod-id-agent-setup.html).
//   - 100.100.100.200/32, Alibaba Cloud's ECS metadata service
//     (alibabacloud.com/help/en/ecs/user-guide/view-instance-metadata).
//     It is in the shared address space of carrier-grade NAT, 100.64.0.0/10,
//     of which only this address is denied.
const DefaultCIDRs = "169.254.0.0/16,fe80::/10,fd00:ec2::254/128,fd00:ec2::23/128,100.100.100.200/32"

// ErrDenied is what every refusal of the guard matches (errors.Is).
var ErrDenied = errors.New("address denied")

// DeniedError is a connection the guard refused: Addr, the address to be
// connected to (as dialled), is in the denied range Prefix.
type DeniedError struct {
	Host   string // the name that resolved to Addr, when there was one
	Addr   netip.Addr
	Prefix netip.Prefix
}

func (e *DeniedError) Error() string {
	if e.Host != "" && e.Host != e.Addr.String() {
		return fmt.Sprintf("%s resolves to %s, in the denied range %s", e.Host, e.Addr, e.Prefix)
	}
	return fmt.Sprintf("%s is in the denied range %s", e.Addr, e.Prefix)
}

// Is makes errors.Is(err, ErrDenied) true of a DeniedError.
func (e *DeniedError) Is(target error) bool { return target == ErrDenied }

// Guard is a set of denied address ranges. The zero Guard, and a nil one,
// deny nothing.
type Guard struct {
	deny []netip.Prefix
}

// Parse reads a comma-separated list of CIDR prefixes ("169.254.0.0/16,
// fe80::/10"); a bare address stands for itself alone (/32 or /128).
// Blanks around items and empty items are ignored, so "" is a guard that
// denies nothing. Prefixes are masked (10.1.2.3/8 is 10.0.0.0/8), and
// IPv4-mapped IPv6 prefixes (::ffff:10.0.0.0/104) are read as the IPv4
// prefixes they map, since addresses are checked in their IPv4 form.
func Parse(list string) (*Guard, error) {
	g := &Guard{}
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		var p netip.Prefix
		if strings.Contains(item, "/") {
			var err error
			if p, err = netip.ParsePrefix(item); err != nil {
				return nil, fmt.Errorf("%q is not a CIDR prefix: %w", item, err)
			}
		} else {
			a, err := netip.ParseAddr(item)
			if err != nil || a.Zone() != "" {
				return nil, fmt.Errorf("%q is not a CIDR prefix or an IP address", item)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		g.deny = append(g.deny, p.Masked())
	}
	return g, nil
}

// Default returns a guard denying DefaultCIDRs.
func Default() *Guard {
	g, err := Parse(DefaultCIDRs)
	if err != nil {
		panic(err) // DefaultCIDRs is a constant that parses
	}
	return g
}

// Enabled reports whether the guard denies anything.
func (g *Guard) Enabled() bool { return g != nil && len(g.deny) > 0 }

// Prefixes returns the denied ranges.
func (g *Guard) Prefixes() []netip.Prefix {
	if g == nil {
		return nil
	}
	return append([]netip.Prefix(nil), g.deny...)
}

// String is the list of denied ranges, as Parse reads it.
func (g *Guard) String() string {
	s := make([]string, len(g.Prefixes()))
	for i, p := range g.Prefixes() {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

// Allowed reports whether a connection to a may be made.
func (g *Guard) Allowed(a netip.Addr) bool {
	_, denied := g.match(a)
	return !denied
}

// Check returns a *DeniedError if a connection to a may not be made.
func (g *Guard) Check(a netip.Addr) error {
	if p, denied := g.match(a); denied {
		return &DeniedError{Addr: a, Prefix: p}
	}
	return nil
}

// nat64 is the well-known prefix of IPv4/IPv6 translation (RFC 6052): a
// NAT64 gateway forwards 64:ff9b::a.b.c.d to the IPv4 address a.b.c.d.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// match returns the denied range a falls in. The address is compared in
// each form under which it reaches an IPv4 host: an IPv4-mapped IPv6
// address (::ffff:a.b.c.d, which a dual-stack socket connects to a.b.c.d)
// as its IPv4 address; the NAT64 form and the deprecated IPv4-compatible
// form (::a.b.c.d, RFC 4291 section 2.5.5.1) as their embedded IPv4
// address too; the unspecified address, to which connect(2) on Linux
// connects the local host, as the loopback address as well. Zones are
// ignored: fe80::1%eth0 is in fe80::/10.
func (g *Guard) match(a netip.Addr) (netip.Prefix, bool) {
	if !g.Enabled() || !a.IsValid() {
		return netip.Prefix{}, false
	}
	a = a.WithZone("").Unmap()
	forms := [2]netip.Addr{a}
	n := 1
	switch {
	case a.IsUnspecified() && a.Is4():
		forms[n] = netip.AddrFrom4([4]byte{127, 0, 0, 1})
		n++
	case a.IsUnspecified():
		forms[n] = netip.IPv6Loopback()
		n++
	case a.Is6() && (nat64.Contains(a) || isIPv4Compatible(a)):
		b := a.As16()
		forms[n] = netip.AddrFrom4([4]byte(b[12:]))
		n++
	}
	for _, f := range forms[:n] {
		for _, p := range g.deny {
			if p.Contains(f) {
				return p, true
			}
		}
	}
	return netip.Prefix{}, false
}

// isIPv4Compatible reports whether a is ::a.b.c.d with a.b.c.d neither
// 0.0.0.0 nor 0.0.0.1 (which are :: and ::1).
func isIPv4Compatible(a netip.Addr) bool {
	b := a.As16()
	for _, x := range b[:12] {
		if x != 0 {
			return false
		}
	}
	return b[12]|b[13]|b[14] != 0 || b[15] > 1
}

// Control is a net.Dialer Control function: it refuses, before connect(2),
// a socket about to connect to a denied address. address is the resolved
// "ip:port" that the dialer connects to; one it cannot read is refused
// rather than let through.
func (g *Guard) Control(network, address string, _ syscall.RawConn) error {
	if !g.Enabled() {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("netguard: %s address %q: %w", network, address, err)
	}
	return g.Check(ap.Addr())
}

// Resolver is the name resolver of a dialer that resolves names itself
// (fasthttp.Resolver has this method set; *net.Resolver implements it).
type Resolver interface {
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
}

// Resolver returns r (net.DefaultResolver if nil) with the denied
// addresses removed from its answers. A name all of whose addresses are
// denied fails with a *DeniedError naming the first; the others are still
// dialled, so that a name with both a denied and an allowed address works
// as it would without the denied one. A literal address is "resolved" to
// itself, so it is checked the same way.
func (g *Guard) Resolver(r Resolver) Resolver {
	if r == nil {
		r = net.DefaultResolver
	}
	return &resolver{g: g, r: r}
}

type resolver struct {
	g *Guard
	r Resolver
}

func (r *resolver) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	addrs, err := r.r.LookupIPAddr(ctx, host)
	if err != nil || !r.g.Enabled() {
		return addrs, err
	}
	kept := addrs[:0:0]
	var first error
	for _, ia := range addrs {
		a, ok := netip.AddrFromSlice(ia.IP)
		if !ok {
			continue
		}
		if err := r.g.Check(a.WithZone(ia.Zone)); err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		kept = append(kept, ia)
	}
	if len(kept) == 0 && first != nil {
		var de *DeniedError
		if errors.As(first, &de) {
			de.Host = host
		}
		return nil, first
	}
	return kept, nil
}

// DialFunc dials addr ("host:port"), as fasthttp.DialFunc does.
type DialFunc = func(addr string) (net.Conn, error)

// WrapDial returns dial guarded: an addr whose host is a literal address
// in a denied range is refused without dialling (through a proxy, too: the
// proxy would connect to it), and a connection whose remote address is
// denied is closed and refused before anything is sent on it. With a
// proxy, the remote address is the proxy's: a name in addr is resolved by
// the proxy, which the guard cannot see past.
func (g *Guard) WrapDial(dial DialFunc) DialFunc {
	if !g.Enabled() {
		return dial
	}
	return func(addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		if err := g.CheckHost(host); err != nil {
			return nil, err
		}
		conn, err := dial(addr)
		if err != nil {
			return nil, err
		}
		if ta, ok := conn.RemoteAddr().(*net.TCPAddr); ok {
			if err := g.Check(ta.AddrPort().Addr()); err != nil {
				_ = conn.Close()
				var de *DeniedError
				if errors.As(err, &de) {
					de.Host = host
				}
				return nil, err
			}
		}
		return conn, nil
	}
}

// CheckHost returns a *DeniedError when host (a URL's host, without port)
// is a literal address in a denied range. A name cannot be judged here:
// what it resolves to is checked when it is dialled.
func (g *Guard) CheckHost(host string) error {
	if !g.Enabled() {
		return nil
	}
	a, ok := ParseHost(host)
	if !ok {
		return nil
	}
	return g.Check(a)
}

// CheckURL is CheckHost on an http(s) URL's host. A URL that does not
// parse is not judged here (its own validation refuses it).
func (g *Guard) CheckURL(rawURL string) error {
	if !g.Enabled() {
		return nil
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil
	}
	return g.CheckHost(u.Hostname())
}

// ParseHost reads host as a literal IP address, in any form a resolver or
// URL parser may take for one: IPv4 dotted quads, IPv6 (bracketed or not,
// with a zone, "%25"-escaped as in URLs or not), and the legacy IPv4
// forms of inet_aton(3) that getaddrinfo(3) and WHATWG URL parsers still
// accept — fewer than four parts, and decimal, octal (0-prefixed) or hex
// (0x-prefixed) numbers: 2852039166, 0xa9fea9fe, 0251.0376.0251.0376 and
// 169.254.43518 are all 169.254.169.254. A trailing dot is allowed, as in
// a fully qualified name.
func ParseHost(host string) (netip.Addr, bool) {
	h := strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	h = strings.Replace(h, "%25", "%", 1)
	if a, err := netip.ParseAddr(h); err == nil {
		return a, true
	}
	return parseLegacyIPv4(strings.TrimSuffix(h, "."))
}

// parseLegacyIPv4 reads inet_aton(3)'s forms: a, a.b (b is 24 bits),
// a.b.c (c is 16 bits) and a.b.c.d, each part decimal, octal or hex.
func parseLegacyIPv4(s string) (netip.Addr, bool) {
	if s == "" {
		return netip.Addr{}, false
	}
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	var v uint64
	for i, p := range parts {
		n, ok := parseLegacyNumber(p)
		if !ok {
			return netip.Addr{}, false
		}
		if i < len(parts)-1 {
			if n > 0xff {
				return netip.Addr{}, false
			}
			v = v<<8 | n
			continue
		}
		// The last part fills the bytes the others left.
		bits := uint(8 * (4 - i))
		if n >= 1<<bits {
			return netip.Addr{}, false
		}
		v = v<<bits | n
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

// parseLegacyNumber reads one part of a legacy IPv4 address, at most 32
// bits: decimal, octal after a leading 0, hex after 0x.
func parseLegacyNumber(p string) (uint64, bool) {
	base := uint64(10)
	switch {
	case len(p) > 1 && (p[:2] == "0x" || p[:2] == "0X"):
		base, p = 16, p[2:]
		if p == "" {
			return 0, true // "0x" is 0 to inet_aton
		}
	case len(p) > 1 && p[0] == '0':
		base, p = 8, p[1:]
	}
	if p == "" {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(p); i++ {
		var d uint64
		switch c := p[i]; {
		case c >= '0' && c <= '9':
			d = uint64(c - '0')
		case c >= 'a' && c <= 'f':
			d = uint64(c-'a') + 10
		case c >= 'A' && c <= 'F':
			d = uint64(c-'A') + 10
		default:
			return 0, false
		}
		if d >= base {
			return 0, false
		}
		n = n*base + d
		if n > 0xffffffff {
			return 0, false
		}
	}
	return n, true
}
