package auth

import (
	"strings"
	"testing"
)

// A key's partner name is the partner_name of the partner event sources it
// may act on: the characters the EventSourceName pattern allows there.
func TestPartnerKey(t *testing.T) {
	for _, c := range []struct {
		partner, err string
	}{
		{"saas.example", ""},
		{"my-saas_2", ""},
		{"", ""},
		{"a/b", "partner \"a/b\" may hold only"},
		{"saas example", "partner \"saas example\" may hold only"},
		{strings.Repeat("p", 65), "may hold only"},
	} {
		entries, err := ParseFile([]byte("keys:\n  - {access_key_id: AKIDPARTNER, secret_access_key: s, account: \"111122223333\", partner: \"" + c.partner + "\"}\n"))
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%q: %v", c.partner, err)
		case c.err == "" && entries[0].Partner != c.partner:
			t.Errorf("%q: read as %q", c.partner, entries[0].Partner)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%q: %v, want an error with %q", c.partner, err, c.err)
		}
	}
}
