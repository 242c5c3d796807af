package pattern

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

func TestEventNumber(t *testing.T) {
	lits := []string{"0", "-0", "1", "-1", "1.5", "1.10000000", "0.000001", "0.0000001", "5000000000", "5000000000.000001",
		"-5000000000", "4999999999.999999", "12345678901", "00", "01", "1.", ".5", "-", "", "1e2", "1E-7", "0.1000000",
		"-122.5060514142491", "37.7582152897", "100.000000", "9999999999", "1.2.3", "--1", "0.0"}
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 20000; i++ {
		var b strings.Builder
		if r.IntN(2) == 0 {
			b.WriteByte('-')
		}
		for n := 1 + r.IntN(11); n > 0; n-- {
			b.WriteByte(byte('0' + r.IntN(10)))
		}
		if r.IntN(3) > 0 {
			b.WriteByte('.')
			for n := 1 + r.IntN(9); n > 0; n-- {
				b.WriteByte("0123456789000"[r.IntN(13)])
			}
		}
		lits = append(lits, b.String())
	}
	// More decimals than the fixed point: up to 20 significant digits.
	lits = append(lits, "-122.50592764163595", "37.75821528970597", "4999999999.9999999", "5000000000.0000001",
		"-4999999999.000000001", "0.00000000000000000001", "0.30000000000000001", "9007199254740993.5",
		"900719925.47409935", "1.00000000000000011102230246251565", "0.1000000000000000055511151231257827")
	for i := 0; i < 200000; i++ {
		var b strings.Builder
		if r.IntN(2) == 0 {
			b.WriteByte('-')
		}
		if r.IntN(4) == 0 {
			b.WriteByte('0')
		} else {
			b.WriteByte(byte('1' + r.IntN(9)))
			for n := r.IntN(10); n > 0; n-- {
				b.WriteByte(byte('0' + r.IntN(10)))
			}
		}
		b.WriteByte('.')
		for n := 7 + r.IntN(13); n > 0; n-- {
			b.WriteByte("0123456789"[r.IntN(10)])
		}
		lits = append(lits, b.String())
	}
	for _, l := range lits {
		f1, c1 := eventNumberClass([]byte(l))
		f2, c2 := comparableNumber([]byte(l))
		if math.Float64bits(f1) != math.Float64bits(f2) || c1 != c2 {
			t.Errorf("%q: eventNumberClass %v %v, comparableNumber %v %v", l, f1, c1, f2, c2)
		}
		if c2 == numPrecise {
			// comparableNumber asks strconv; check it is what ParseFloat gives.
			if f, _ := strconv.ParseFloat(l, 64); f != f2 {
				t.Errorf("%q: %v, ParseFloat %v", l, f2, f)
			}
		}
	}
}

// TestNearestFloat checks the 128-bit rounding against strconv, near
// midpoints between floats too.
// TestQuickNum checks that quickNum's interval holds the ComparableNumber.
func TestQuickNum(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	lits := []string{"0.00000000", "-0.00000000", "1.00000000", "-122.5060514142491", "37.75821528970597",
		"999999999.9999999999999999", "1.99999999e5", "1.2345678e12345678", "0.12345678", "00.12345678", "1.1234567"}
	ok := 0
	for i := 0; i < 300000; i++ {
		var b strings.Builder
		if r.IntN(2) == 0 {
			b.WriteByte('-')
		}
		for n := 1 + r.IntN(10); n > 0; n-- {
			b.WriteByte("0123456789"[r.IntN(10)])
		}
		b.WriteByte('.')
		for n := 6 + r.IntN(13); n > 0; n-- {
			b.WriteByte("01234567899999000"[r.IntN(17)])
		}
		if r.IntN(20) == 0 {
			b.WriteString("e1")
		}
		lits = append(lits, b.String())
	}
	for _, l := range lits {
		lo, hi, good := quickNum([]byte(l))
		if !good {
			continue
		}
		ok++
		f, c := comparableNumber([]byte(l))
		if c == numNone || !(lo <= f && f <= hi) || hi-lo > 1.01e-8*max(1, math.Abs(f)) {
			t.Errorf("%q: quickNum [%v, %v], comparableNumber %v %v", l, lo, hi, f, c)
		}
	}
	if ok < 100000 {
		t.Errorf("quickNum took only %d literals", ok)
	}
}

func TestNearestFloat(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	check := func(m uint64, k int) {
		f, ok := nearestFloat(m, k)
		if !ok {
			return
		}
		s := strconv.FormatUint(m, 10)
		if len(s) <= k {
			s = strings.Repeat("0", k-len(s)+1) + s
		}
		lit := s[:len(s)-k] + "." + s[len(s)-k:]
		if want, _ := strconv.ParseFloat(lit, 64); f != want {
			t.Fatalf("nearestFloat(%d, %d) = %v, ParseFloat(%s) = %v", m, k, f, lit, want)
		}
	}
	for i := 0; i < 300000; i++ {
		k := 7 + r.IntN(13)
		m := r.Uint64() % pow10u[19]
		if m == 0 {
			continue
		}
		check(m, k)
		// A decimal close to the midpoint above a float: the float's
		// exact value plus half a unit, cut to 19 digits.
		f, _ := strconv.ParseFloat(strconv.FormatUint(m, 10)+"e-"+strconv.Itoa(k), 64)
		up := math.Nextafter(f, math.Inf(1))
		mid := new(big.Float).SetPrec(200).Add(new(big.Float).SetFloat64(f), new(big.Float).SetFloat64(up))
		mid.Quo(mid, big.NewFloat(2))
		txt := mid.Text('f', 40)
		dot := strings.IndexByte(txt, '.')
		digits := strings.TrimLeft(txt[:dot]+txt[dot+1:], "0")
		kk := len(txt) - dot - 1
		for len(digits) > 19 {
			digits, kk = digits[:len(digits)-1], kk-1
		}
		if kk < 7 || kk > 19 {
			continue
		}
		mm, err := strconv.ParseUint(digits, 10, 64)
		if err != nil || mm == 0 {
			continue
		}
		for d := uint64(0); d < 3; d++ {
			check(mm+d-1, kk)
		}
	}
	// Exact midpoints (ties go to the even float): 2^53+1 and 2^53+3.
	check(90071992547409930, 1)
	check(90071992547409950, 1)
	check(900719925474099300, 2)
}

// TestPreciseNumbersNearBounds holds the Matcher to the reference on event
// numbers with up to 19 significant digits near and far from range bounds,
// as anchors (tested while scanning) and as later fields (judged after),
// where approximate values must give way to exact ones.
func TestPreciseNumbersNearBounds(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	bounds := []string{"-122.4647", "-122.416", "37.8", "1", "0.000001", "4999999999.999999", "-3.5"}
	for round := 0; round < 200; round++ {
		b := bounds[r.IntN(len(bounds))]
		ops := []string{">", ">=", "<", "<="}
		op := ops[r.IntN(len(ops))]
		srcs := []string{
			`{"a":[{"numeric":["` + op + `",` + b + `]}]}`,
			`{"k":["v"],"a":[{"numeric":["` + op + `",` + b + `]}]}`,
			`{"a":[{"numeric":["=",` + b + `]}]}`,
		}
		m := NewMatcher()
		var pats []*Pattern
		for i, src := range srcs {
			p, err := Parse([]byte(src))
			if err != nil {
				t.Fatal(src, err)
			}
			pats = append(pats, p)
			m.Add(strconv.Itoa(i), p)
		}
		bf, _ := strconv.ParseFloat(b, 64)
		for e := 0; e < 50; e++ {
			// A value a few units in the last place from the bound, or
			// anywhere, written with 17 to 19 significant digits.
			v := bf
			if e%2 == 0 {
				for n := r.IntN(5) - 2; n != 0; {
					if n > 0 {
						v, n = math.Nextafter(v, math.Inf(1)), n-1
					} else {
						v, n = math.Nextafter(v, math.Inf(-1)), n+1
					}
				}
			} else {
				v = bf + (r.Float64()-0.5)*r.Float64()*10
			}
			lit := strconv.FormatFloat(v, 'f', -1, 64)
			if r.IntN(2) == 0 {
				// Extra digits that keep or move the nearest float.
				if !strings.Contains(lit, ".") {
					lit += "."
				}
				lit += strconv.Itoa(r.IntN(10)) + "1"
			}
			ev := []byte(`{"k":"v","a":[` + lit + `,` + lit + `]}`)
			got, err := m.Match(ev)
			if err != nil {
				t.Fatal(err)
			}
			got2, _ := m.AppendMatchesValid(nil, ev)
			for i, p := range pats {
				want, _ := referenceMatch(p, ev)
				if slicesContains(got, strconv.Itoa(i)) != want || slicesContains(got2, strconv.Itoa(i)) != want {
					t.Fatalf("%s on %s: Match %v, AppendMatchesValid %v, reference %v", p.Source, ev, got, got2, want)
				}
			}
		}
	}
}

func slicesContains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func TestParse8(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for i := 0; i < 100000; i++ {
		n := r.Uint64N(100_000_000)
		s := fmt.Sprintf("%08d", n)
		if got := parse8(binary.LittleEndian.Uint64([]byte(s))); got != n {
			t.Fatalf("parse8(%s) = %d", s, got)
		}
	}
}

// TestLightNumber checks lightNumber against scanNumber on valid numbers
// followed by every delimiter, at every distance from the end of the event.
func TestLightNumber(t *testing.T) {
	nums := []string{"0", "-0", "1", "-122.50605141424910", "37.75821528970597", "1e5", "-1.5E+10", "12345678901234567890", "0.1"}
	for _, n := range nums {
		for _, d := range []string{",", "}", "]", " ", "\t", "\n", "\r", ""} {
			for pad := 0; pad < 10; pad++ {
				ev := []byte(n + d + strings.Repeat(" ", pad))
				s := &evalState{ev: ev}
				want, err := s.scanNumber(0)
				if err != nil {
					t.Fatal(err)
				}
				if got := lightNumber(ev, 0); got != want {
					t.Errorf("%q: lightNumber %d, scanNumber %d", ev, got, want)
				}
			}
		}
	}
}
