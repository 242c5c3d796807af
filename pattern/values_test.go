package pattern

import (
	"math/rand/v2"
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
	for _, l := range lits {
		f1, ok1 := eventNumber([]byte(l))
		f2, ok2 := ComparableNumber([]byte(l))
		if f1 != f2 || ok1 != ok2 {
			t.Errorf("%q: eventNumber %v %v, ComparableNumber %v %v", l, f1, ok1, f2, ok2)
		}
	}
}

func TestFoldAppend(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	alphabet := []rune("aAbBkKsSſ\u212Aéɐ\u2C6FßẞΣσςİıi\xff0 ")
	for i := 0; i < 20000; i++ {
		var b strings.Builder
		for n := r.IntN(6); n > 0; n-- {
			b.WriteRune(alphabet[r.IntN(len(alphabet))])
		}
		if got, want := string(foldAppend(nil, []byte(b.String()))), foldKey(b.String()); got != want {
			t.Fatalf("foldAppend(%q) = %q, foldKey %q", b.String(), got, want)
		}
	}
}
