package schemas

import (
	"encoding/base64"
	"strings"

	"github.com/switchyard/switchyard/internal/restapi"
)

// DefaultLimit is the page size of a list without Limit, and MaxLimit the
// largest Limit taken.
const (
	DefaultLimit = 100
	MaxLimit     = 100
)

// page is one page of a listing whose items are ordered by a unique key.
type page struct {
	after string // the last key of the previous page; "" for the first
	limit int
	list  string // what is listed, so that a token of another listing is refused
}

// pageOf reads Limit and NextToken. A NextToken is the listing it belongs
// to and the last key of its page, base64url-encoded: a token that does not
// decode, or belongs to another listing, is a BadRequestException.
func pageOf(r *restapi.Request, list string) (page, error) {
	p := page{limit: DefaultLimit, list: list}
	n, ok, err := r.QueryInt("limit")
	if err != nil {
		return p, badRequest("Limit must be an integer.")
	}
	if ok {
		if n < 1 || n > MaxLimit {
			return p, badRequest("Limit must be between 1 and %d.", MaxLimit)
		}
		p.limit = n
	}
	if t := r.Query("nextToken"); t != "" {
		raw, err := base64.RawURLEncoding.DecodeString(t)
		l, after, found := strings.Cut(string(raw), "\x00")
		if err != nil || !found || l != list || after == "" {
			return p, badRequest("Invalid NextToken: '%s'.", t)
		}
		p.after = after
	}
	return p, nil
}

// take returns the items of keys (sorted) on the page: the indexes
// [from, to) and the next page's token ("" when this is the last).
func (p page) take(keys []string) (from, to int, next string) {
	from = 0
	if p.after != "" {
		for from < len(keys) && keys[from] <= p.after {
			from++
		}
	}
	to = min(from+p.limit, len(keys))
	if to < len(keys) {
		next = base64.RawURLEncoding.EncodeToString([]byte(p.list + "\x00" + keys[to-1]))
	}
	return from, to, next
}
