package pattern

import (
	"net/netip"
	"strconv"
	"strings"
)

// AWS decides whether a string is an IP address with two loose shapes (four
// dot-separated digit runs, or hex digits and colons with at least one
// colon) and then a real parse. Anything else is just a string: it never
// matches a cidr condition, and as a pattern value it is compared as text.

func looksLikeIPv4(s string) bool {
	parts := 0
	run := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case isDigit(c):
			run++
		case c == '.' && run > 0:
			parts++
			run = 0
		default:
			return false
		}
	}
	return parts == 3 && run > 0
}

func looksLikeIPv6(s string) bool {
	colon := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ':':
			colon = true
		case isDigit(c), c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
		default:
			return false
		}
	}
	return colon
}

// parseIP returns the address a string denotes if AWS would treat it as an
// IP address. IPv4-mapped IPv6 addresses count as IPv4, as they do for the
// Java resolver AWS uses.
func parseIP(s string) (netip.Addr, bool) {
	if !looksLikeIPv4(s) && !looksLikeIPv6(s) {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// parseCIDR validates the operand of a cidr condition. The prefix keeps the
// address as written, host bits included: AWS matches the addresses from
// that address up to the end of its block, so "10.0.0.5/24" does not match
// 10.0.0.1 (see cidrContains).
func parseCIDR(s string) (netip.Prefix, *Error) {
	// Java's String.split drops trailing empty fields; "10.0.0.0/" is
	// therefore one field, not two.
	parts := strings.Split(s, "/")
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	if len(parts) != 2 {
		return netip.Prefix{}, errorf("Malformed CIDR, one '/' required")
	}
	bits, err := strconv.ParseInt(parts[1], 10, 32)
	if err != nil {
		return netip.Prefix{}, errorf("Malformed CIDR, mask bits must be an integer")
	}
	if bits < 0 {
		return netip.Prefix{}, errorf("Malformed CIDR, mask bits must not be negative")
	}
	ip := parts[0]
	if !looksLikeIPv4(ip) && !looksLikeIPv6(ip) {
		return netip.Prefix{}, errorf("Nonstandard IP address: %s", ip)
	}
	addr, perr := netip.ParseAddr(ip)
	if perr != nil {
		return netip.Prefix{}, errorf("Invalid IP address: %s", ip)
	}
	addr = addr.Unmap()
	if addr.Is4() && bits > 31 {
		return netip.Prefix{}, errorf("IPv4 mask bits must be < 32")
	}
	if addr.Is6() && bits > 127 {
		return netip.Prefix{}, errorf("IPv6 mask bits must be < 128")
	}
	return netip.PrefixFrom(addr, int(bits)), nil
}

// cidrContains reports whether a matches the cidr condition p: same family,
// inside p's block, and not below the address p was written with.
func cidrContains(p netip.Prefix, a netip.Addr) bool {
	return a.BitLen() == p.Addr().BitLen() && p.Contains(a) && a.Compare(p.Addr()) >= 0
}

// cidrMatchString applies a cidr condition to an event string.
func cidrMatchString(p netip.Prefix, s string) bool {
	a, ok := parseIP(s)
	return ok && cidrContains(p, a)
}
