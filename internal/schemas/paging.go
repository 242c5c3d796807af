package schemas

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard/switchyard/internal/restapi"
)

// DefaultLimit is the page size of a list without Limit, and MaxLimit the
// largest Limit taken.
const (
	DefaultLimit = 100
	MaxLimit     = 100
)

// tokenLifetime: a NextToken "will expire in 24 hours, and cannot be
// shared with other accounts" (Schemas API Reference, e.g. Search Schemas,
// https://docs.aws.amazon.com/eventbridge/latest/schema-reference/v1-registries-name-registryname-schemas-search.html).
const tokenLifetime = 24 * time.Hour

// page is one page of a listing whose items are ordered by a unique key.
type page struct {
	after string // the last key of the previous page; "" for the first
	limit int
	list  string // what is listed, and for whom: a token of another listing or account is refused
	now   time.Time
}

// pageOf reads Limit and NextToken. A NextToken is, base64url-encoded, the
// listing it belongs to (with the caller's account and region), when it
// was issued and the last key of its page: a token that does not decode,
// belongs to another listing or account, or is more than 24 hours old is a
// BadRequestException.
func pageOf(r *restapi.Request, list string) (page, error) {
	p := page{limit: DefaultLimit, list: r.Scope.Account + "/" + r.Scope.Region + "/" + list, now: time.Now()}
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
	t := r.Query("nextToken")
	if t == "" {
		return p, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(t)
	parts := strings.SplitN(string(raw), "\x00", 3)
	if err != nil || len(parts) != 3 || parts[0] != p.list || parts[2] == "" {
		return p, badRequest("Invalid NextToken: '%s'.", t)
	}
	issued, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return p, badRequest("Invalid NextToken: '%s'.", t)
	}
	if age := p.now.Sub(time.Unix(issued, 0)); age > tokenLifetime || age < -time.Minute {
		return p, badRequest("The NextToken has expired: tokens are valid for 24 hours.")
	}
	p.after = parts[2]
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
		next = p.token(keys[to-1])
	}
	return from, to, next
}

func (p page) token(last string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(p.list + "\x00" + strconv.FormatInt(p.now.Unix(), 10) + "\x00" + last))
}
