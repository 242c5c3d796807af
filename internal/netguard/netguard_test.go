package netguard

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // the guard's String, or "error"
	}{
		{"", ""},
		{" , ,", ""},
		{DefaultCIDRs, DefaultCIDRs},
		{"10.1.2.3/8", "10.0.0.0/8"},
		{" 127.0.0.1 , ::1 ", "127.0.0.1/32,::1/128"},
		{"::ffff:169.254.0.0/112", "169.254.0.0/16"},
		{"::ffff:0:0/96", "0.0.0.0/0"},
		{"fe80::1%eth0", "error"},
		{"169.254.0.0/33", "error"},
		{"localhost", "error"},
		{"10.0.0.0/8,nope", "error"},
	} {
		g, err := Parse(tc.in)
		got := "error"
		if err == nil {
			got = g.String()
		}
		if got != tc.want {
			t.Errorf("Parse(%q) = %q (%v), want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestAllowedDefault(t *testing.T) {
	g := Default()
	for _, tc := range []struct {
		addr    string
		allowed bool
	}{
		{"169.254.169.254", false}, // EC2, GCE, Azure, OCI metadata
		{"169.254.170.2", false},   // ECS task credentials
		{"169.254.170.23", false},  // EKS Pod Identity Agent
		{"169.254.0.1", false},
		{"169.254.255.255", false},
		{"fd00:ec2::254", false},
		{"fd00:ec2::23", false},
		{"100.100.100.200", false},
		{"fe80::1", false},
		{"fe80::a9fe:a9fe%eth0", false}, // OpenStack's IPv6 metadata, zoned
		{"febf:ffff::1", false},         // the end of fe80::/10
		// The same addresses in the forms that reach them.
		{"::ffff:169.254.169.254", false},
		{"::ffff:a9fe:a9fe", false},
		{"64:ff9b::169.254.169.254", false},
		{"::169.254.169.254", false},
		// Neighbours, and the ordinary.
		{"169.253.255.255", true},
		{"169.255.0.0", true},
		{"100.100.100.201", true},
		{"100.64.0.1", true},
		{"fd00:ec2::253", true},
		{"fec0::1", true},
		{"127.0.0.1", true},
		{"::1", true},
		{"0.0.0.0", true},
		{"::", true},
		{"10.0.0.1", true},
		{"8.8.8.8", true},
		{"2001:db8::1", true},
		{"64:ff9b::8.8.8.8", true},
	} {
		a := netip.MustParseAddr(tc.addr)
		if got := g.Allowed(a); got != tc.allowed {
			t.Errorf("Allowed(%s) = %v, want %v", tc.addr, got, tc.allowed)
		}
		err := g.Check(a)
		if (err == nil) != tc.allowed || (err != nil && !errors.Is(err, ErrDenied)) {
			t.Errorf("Check(%s) = %v", tc.addr, err)
		}
	}
}

// TestUnspecifiedIsLoopback: connect(2) to 0.0.0.0 or :: reaches the local
// host, so denying loopback denies them too.
func TestUnspecifiedIsLoopback(t *testing.T) {
	g, err := Parse("127.0.0.0/8,::1/128")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"0.0.0.0", "::", "::ffff:0.0.0.0", "127.0.0.5", "::1", "::ffff:127.0.0.1"} {
		if g.Allowed(netip.MustParseAddr(a)) {
			t.Errorf("%s allowed with loopback denied", a)
		}
	}
	if !g.Allowed(netip.MustParseAddr("10.0.0.1")) {
		t.Error("10.0.0.1 denied")
	}
}

func TestDisabled(t *testing.T) {
	var nilGuard *Guard
	empty, _ := Parse("")
	for _, g := range []*Guard{nilGuard, empty, {}} {
		if g.Enabled() || !g.Allowed(netip.MustParseAddr("169.254.169.254")) || g.CheckURL("http://169.254.169.254/") != nil ||
			g.Control("tcp", "not an address", nil) != nil {
			t.Errorf("guard %v denies", g)
		}
	}
}

func TestParseHost(t *testing.T) {
	for _, tc := range []struct {
		host string
		want string // "" when not an address
	}{
		{"169.254.169.254", "169.254.169.254"},
		{"169.254.169.254.", "169.254.169.254"},
		{"2852039166", "169.254.169.254"},
		{"0xa9fea9fe", "169.254.169.254"},
		{"0XA9FEA9FE", "169.254.169.254"},
		{"0251.0376.0251.0376", "169.254.169.254"},
		{"0xa9.0xfe.0xa9.0xfe", "169.254.169.254"},
		{"169.254.43518", "169.254.169.254"},
		{"169.16689662", "169.254.169.254"},
		{"0", "0.0.0.0"},
		{"0x", "0.0.0.0"},
		{"127.1", "127.0.0.1"},
		{"[fd00:ec2::254]", "fd00:ec2::254"},
		{"fd00:ec2::254", "fd00:ec2::254"},
		{"[fe80::1%25eth0]", "fe80::1%eth0"},
		{"fe80::1%eth0", "fe80::1%eth0"},
		{"[::ffff:169.254.169.254]", "::ffff:169.254.169.254"},
		{"", ""},
		{"localhost", ""},
		{"example.com", ""},
		{"169.254.169.254.example.com", ""},
		{"1.2.3.4.5", ""},
		{"256.1.1.1", ""},
		{"1.2.3.256", ""},
		{"1.2.65536", ""},
		{"4294967296", ""},
		{"08", ""},
		{"1..2", ""},
		{".1.2", ""},
		{"0xg", ""},
		{"abc", ""},
	} {
		a, ok := ParseHost(tc.host)
		got := ""
		if ok {
			got = a.String()
		}
		if got != tc.want {
			t.Errorf("ParseHost(%q) = %q, want %q", tc.host, got, tc.want)
		}
	}
}

func TestCheckURL(t *testing.T) {
	g := Default()
	for _, tc := range []struct {
		url    string
		denied bool
	}{
		{"http://169.254.169.254/latest/meta-data", true},
		{"https://169.254.170.2/v2/credentials", true},
		{"http://[fd00:ec2::254]/latest/meta-data", true},
		{"http://[::ffff:169.254.169.254]:80/", true},
		{"http://[fe80::1%25eth0]:8080/", true},
		{"http://2852039166/", true},
		{"http://user:pw@100.100.100.200/latest/meta-data", true},
		{"http://metadata.google.internal/", false}, // a name: judged when dialled
		{"http://127.0.0.1:8080/events", false},
		{"https://example.com/169.254.169.254", false},
		{"http://%zz/", false}, // does not parse: other validation refuses it
	} {
		err := g.CheckURL(tc.url)
		if (err != nil) != tc.denied || (err != nil && !errors.Is(err, ErrDenied)) {
			t.Errorf("CheckURL(%q) = %v, want denied %v", tc.url, err, tc.denied)
		}
	}
}

func TestControl(t *testing.T) {
	g := Default()
	for _, tc := range []struct {
		address string
		ok      bool
	}{
		{"169.254.169.254:80", false},
		{"[::ffff:169.254.169.254]:80", false},
		{"[fe80::1%eth0]:443", false},
		{"[fd00:ec2::254]:80", false},
		{"127.0.0.1:8080", true},
		{"[::1]:8080", true},
		{"garbage", false}, // fails closed
	} {
		if err := g.Control("tcp", tc.address, nil); (err == nil) != tc.ok {
			t.Errorf("Control(%q) = %v, want ok %v", tc.address, err, tc.ok)
		}
	}
}

// TestControlDialer: net.Dialer with Control refuses a denied address
// before connecting, after resolving the name: a listener on the denied
// address never sees a connection.
func TestControlDialer(t *testing.T) {
	lis := listen(t)
	g, _ := Parse("127.0.0.1/32,::1/128")
	d := &net.Dialer{Timeout: 2 * time.Second, Control: g.Control}
	_, port, _ := net.SplitHostPort(lis.Addr().String())
	for _, addr := range []string{lis.Addr().String(), net.JoinHostPort("localhost", port)} {
		_, err := d.Dial("tcp", addr)
		var de *DeniedError
		if !errors.As(err, &de) {
			t.Errorf("dial %s: %v, want a DeniedError", addr, err)
		}
	}
	if n := lis.accepted(); n != 0 {
		t.Errorf("listener accepted %d connections", n)
	}
	// The guard off, the same dial connects.
	off, _ := Parse("")
	c, err := (&net.Dialer{Timeout: 2 * time.Second, Control: off.Control}).Dial("tcp", lis.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}

type fakeResolver map[string][]string

func (f fakeResolver) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	addrs, ok := f[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var out []net.IPAddr
	for _, a := range addrs {
		ip, zone, _ := strings.Cut(a, "%")
		out = append(out, net.IPAddr{IP: net.ParseIP(ip), Zone: zone})
	}
	return out, nil
}

func TestResolver(t *testing.T) {
	r := Default().Resolver(fakeResolver{
		"metadata":  {"169.254.169.254"},
		"mapped":    {"::ffff:169.254.169.254"},
		"v6meta":    {"fd00:ec2::254", "fe80::1%eth0"},
		"mixed":     {"169.254.169.254", "10.0.0.1", "fd00:ec2::254", "2001:db8::1"},
		"ordinary":  {"10.0.0.1"},
		"169.254.1": {"169.254.0.1"}, // a resolver reading a legacy literal
	})
	for _, tc := range []struct {
		host string
		want string // addresses kept, or "denied"
	}{
		{"metadata", "denied"},
		{"mapped", "denied"},
		{"v6meta", "denied"},
		{"169.254.1", "denied"},
		{"mixed", "10.0.0.1,2001:db8::1"},
		{"ordinary", "10.0.0.1"},
	} {
		addrs, err := r.LookupIPAddr(context.Background(), tc.host)
		var got []string
		for _, a := range addrs {
			got = append(got, a.String())
		}
		gs := strings.Join(got, ",")
		var de *DeniedError
		if errors.As(err, &de) {
			gs = "denied"
			if de.Host != tc.host || !strings.Contains(de.Error(), tc.host) {
				t.Errorf("%s: error %q does not name the host", tc.host, de)
			}
		} else if err != nil {
			t.Errorf("%s: %v", tc.host, err)
		}
		if gs != tc.want {
			t.Errorf("LookupIPAddr(%s) = %s, want %s", tc.host, gs, tc.want)
		}
	}
	if _, err := r.LookupIPAddr(context.Background(), "missing"); err == nil || errors.Is(err, ErrDenied) {
		t.Errorf("missing host: %v, want the resolver's error", err)
	}
}

func TestWrapDial(t *testing.T) {
	lis := listen(t)
	_, port, _ := net.SplitHostPort(lis.Addr().String())
	dialled := 0
	dial := func(addr string) (net.Conn, error) {
		dialled++
		return net.DialTimeout("tcp", addr, 2*time.Second)
	}
	g, _ := Parse("127.0.0.1/32")
	wrapped := g.WrapDial(dial)

	// A literal is refused without dialling.
	if _, err := wrapped(lis.Addr().String()); !errors.Is(err, ErrDenied) || dialled != 0 {
		t.Errorf("literal: %v, %d dials", err, dialled)
	}
	// A name is dialled (the dial function resolves it), and the
	// connection refused once its remote address is known, before any
	// byte is sent.
	if _, err := wrapped(net.JoinHostPort("localhost", port)); !errors.Is(err, ErrDenied) || dialled != 1 {
		t.Errorf("name: %v, %d dials", err, dialled)
	}
	if lis.received() != 0 {
		t.Errorf("listener received %d bytes", lis.received())
	}
	// Allowed addresses are dialled as they are.
	other, _ := Parse("10.0.0.0/8")
	c, err := other.WrapDial(dial)(lis.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}

// testListener counts what it accepts and receives.
type testListener struct {
	net.Listener
	conns, bytes chan int
}

func listen(t *testing.T) *testListener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tl := &testListener{Listener: l, conns: make(chan int, 1), bytes: make(chan int, 1)}
	tl.conns <- 0
	tl.bytes <- 0
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			tl.conns <- <-tl.conns + 1
			go func() {
				defer c.Close()
				buf := make([]byte, 512)
				for {
					n, err := c.Read(buf)
					tl.bytes <- <-tl.bytes + n
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() { l.Close() })
	return tl
}

func (l *testListener) accepted() int {
	time.Sleep(50 * time.Millisecond) // let Accept run
	n := <-l.conns
	l.conns <- n
	return n
}

func (l *testListener) received() int {
	time.Sleep(50 * time.Millisecond)
	n := <-l.bytes
	l.bytes <- n
	return n
}

// FuzzAllowed: an address is judged alike in every form that reaches the
// same host.
func FuzzAllowed(f *testing.F) {
	f.Add([]byte{169, 254, 169, 254})
	f.Add([]byte{100, 100, 100, 200})
	f.Add(netip.MustParseAddr("fd00:ec2::254").AsSlice())
	f.Add(netip.MustParseAddr("fe80::1").AsSlice())
	g := Default()
	f.Fuzz(func(t *testing.T, b []byte) {
		a, ok := netip.AddrFromSlice(b)
		if !ok {
			return
		}
		allowed := g.Allowed(a)
		if g.Allowed(a.WithZone("eth0")) != allowed && a.Is6() {
			t.Errorf("%s: zone changes the verdict", a)
		}
		if a.Is4() {
			b4 := a.As4()
			for _, form := range []netip.Addr{
				netip.AddrFrom16(a.As16()), // ::ffff:a.b.c.d
				netip.AddrFrom16([16]byte{0, 0x64, 0xff, 0x9b, 10: 0, 11: 0, 12: b4[0], 13: b4[1], 14: b4[2], 15: b4[3]}),
			} {
				if g.Allowed(form) != allowed {
					t.Errorf("%s allowed %v, but %s allowed %v", a, allowed, form, !allowed)
				}
			}
			in := false
			for _, p := range g.Prefixes() {
				in = in || p.Contains(a)
			}
			if in == allowed {
				t.Errorf("%s: allowed %v, in a denied range %v", a, allowed, in)
			}
		}
	})
}

// FuzzParseHost: ParseHost never panics, and whatever it reads as an
// address, a dotted quad it prints reads back the same.
func FuzzParseHost(f *testing.F) {
	for _, s := range []string{"169.254.169.254", "2852039166", "0xa9.0376.43518", "[fe80::1%25eth0]", "1.2.3.4.5", "0x", "08"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, ok := ParseHost(s)
		if !ok {
			return
		}
		if !a.IsValid() {
			t.Fatalf("ParseHost(%q) = invalid address", s)
		}
		if a.Is4() {
			if b, ok := ParseHost(a.String()); !ok || b != a {
				t.Errorf("ParseHost(%q) = %s, which reads back as %s", s, a, b)
			}
		}
	})
}

// FuzzParse: a guard's String parses back to the same guard.
func FuzzParse(f *testing.F) {
	f.Add(DefaultCIDRs)
	f.Add("10.1.2.3/8, ::ffff:1.2.3.4/120,::1")
	f.Fuzz(func(t *testing.T, s string) {
		g, err := Parse(s)
		if err != nil {
			return
		}
		h, err := Parse(g.String())
		if err != nil || h.String() != g.String() {
			t.Errorf("Parse(%q).String() = %q, which parses as %q (%v)", s, g.String(), h.String(), err)
		}
	})
}
