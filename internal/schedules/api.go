package schedules

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/switchyard/switchyard/internal/awserr"
	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/restapi"
	"github.com/switchyard/switchyard/internal/store"
)

// The operations of botocore's scheduler 2021-06-30 model, with its URIs.
// Error codes and statuses are the model's: ValidationException 400,
// ResourceNotFoundException 404, ConflictException 409,
// ServiceQuotaExceededException 402, ThrottlingException 429,
// InternalServerException 500.

// MaxGroups is AWS's default quota of schedule groups per account and
// region ("Quotas for EventBridge Scheduler", EventBridge Scheduler User
// Guide: 500 schedule groups).
const MaxGroups = 500

func notFound(format string, args ...any) error {
	e := awserr.NotFound(format, args...)
	e.Status = http.StatusNotFound
	return e
}

func conflict(format string, args ...any) error {
	e := awserr.New("ConflictException", format, args...)
	e.Status = http.StatusConflict
	return e
}

// Register routes the Scheduler operations of svc to s.
func (s *Service) Register(svc *restapi.Service) {
	schedRes := func(r *restapi.Request) string {
		g := r.Query("groupName")
		if g == "" {
			g = DefaultGroup
		}
		return ScheduleArn(r.Scope, g, r.Path("Name"))
	}
	groupRes := func(r *restapi.Request) string { return GroupArn(r.Scope, r.Path("Name")) }
	tagRes := func(r *restapi.Request) string { return r.Path("ResourceArn") }
	svc.Handle("CreateSchedule", "POST /schedules/{Name}", schedRes, s.createSchedule)
	svc.Handle("UpdateSchedule", "PUT /schedules/{Name}", schedRes, s.updateSchedule)
	svc.Handle("GetSchedule", "GET /schedules/{Name}", schedRes, s.getSchedule)
	svc.Handle("DeleteSchedule", "DELETE /schedules/{Name}", schedRes, s.deleteSchedule)
	svc.Handle("ListSchedules", "GET /schedules", nil, s.listSchedules)
	svc.Handle("CreateScheduleGroup", "POST /schedule-groups/{Name}", groupRes, s.createGroup)
	svc.Handle("GetScheduleGroup", "GET /schedule-groups/{Name}", groupRes, s.getGroup)
	svc.Handle("DeleteScheduleGroup", "DELETE /schedule-groups/{Name}", groupRes, s.deleteGroup)
	svc.Handle("ListScheduleGroups", "GET /schedule-groups", nil, s.listGroups)
	svc.Handle("TagResource", "POST /tags/{ResourceArn...}", tagRes, s.tagResource)
	svc.Handle("UntagResource", "DELETE /tags/{ResourceArn...}", tagRes, s.untagResource)
	svc.Handle("ListTagsForResource", "GET /tags/{ResourceArn...}", tagRes, s.listTags)
}

// activeGroup returns the group a schedule is written to, which must
// exist and not be being deleted.
func (s *Service) activeGroup(ctx context.Context, sc control.Scope, name string) error {
	g, _, err := s.repo.getGroup(ctx, sc, name)
	switch {
	case err != nil:
		return err
	case g == nil:
		return notFound("Schedule group %s does not exist.", name)
	case g.State != "ACTIVE":
		return conflict("Schedule group %s is being deleted.", name)
	}
	return nil
}

func groupOf(p *string) string {
	if p == nil || *p == "" {
		return DefaultGroup
	}
	return *p
}

// build makes the stored schedule of a valid request.
func build(name string, in *scheduleInput) *Schedule {
	sc := &Schedule{
		Name: name, GroupName: groupOf(in.GroupName), Description: in.Description,
		ScheduleExpression: *in.ScheduleExpression, ScheduleExpressionTimezone: in.ScheduleExpressionTimezone,
		StartDate: in.StartDate, EndDate: in.EndDate, State: "ENABLED", FlexibleTimeWindow: *in.FlexibleTimeWindow,
		Target: *in.Target, ActionAfterCompletion: in.ActionAfterCompletion, KmsKeyArn: in.KmsKeyArn,
	}
	if in.State != nil {
		sc.State = *in.State
	}
	if sc.ActionAfterCompletion == nil {
		none := "NONE"
		sc.ActionAfterCompletion = &none
	}
	return sc
}

func (s *Service) decodeSchedule(r *restapi.Request) (string, *scheduleInput, parsed, error) {
	name := r.Path("Name")
	var in scheduleInput
	if err := r.Decode(&in); err != nil {
		return "", nil, parsed{}, err
	}
	p, err := in.check(name)
	return name, &in, p, err
}

func (s *Service) createSchedule(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
	name, in, _, err := s.decodeSchedule(r)
	if err != nil {
		return nil, err
	}
	group := groupOf(in.GroupName)
	if err := s.activeGroup(ctx, r.Scope, group); err != nil {
		return nil, err
	}
	sc := build(name, in)
	t := now()
	sc.CreationDate, sc.LastModificationDate, sc.ClientToken = t, t, in.ClientToken
	b, err := json.Marshal(sc)
	if err != nil {
		return nil, err
	}
	key := scheduleKey(r.Scope, group, name)
	rev, err := s.repo.kv.Create(ctx, key, b)
	if err != nil {
		if store.IsConflict(err) {
			// A retry of the request that created it (same ClientToken)
			// succeeds, as an idempotent request does.
			if old, _, gerr := s.repo.getScheduleKey(ctx, key); gerr == nil && old != nil && sameToken(old.ClientToken, in.ClientToken) {
				return restapi.OK(map[string]string{"ScheduleArn": ScheduleArn(r.Scope, group, name)})
			}
			return nil, conflict("Schedule %s already exists.", name)
		}
		return nil, err
	}
	s.wrote(rev)
	// A record left by an earlier schedule of this name is not this one's.
	_ = s.repo.kv.Delete(ctx, ledgerKey(key))
	return restapi.OK(map[string]string{"ScheduleArn": ScheduleArn(r.Scope, group, name)})
}

func (s *Service) updateSchedule(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
	name, in, _, err := s.decodeSchedule(r)
	if err != nil {
		return nil, err
	}
	group := groupOf(in.GroupName)
	if err := s.activeGroup(ctx, r.Scope, group); err != nil {
		return nil, err
	}
	for attempt := 0; attempt < 5; attempt++ {
		old, rev, err := s.repo.getSchedule(ctx, r.Scope, group, name)
		if err != nil {
			return nil, err
		}
		if old == nil {
			return nil, notFound("Schedule %s does not exist.", name)
		}
		sc := build(name, in)
		sc.CreationDate, sc.LastModificationDate = old.CreationDate, now()
		b, err := json.Marshal(sc)
		if err != nil {
			return nil, err
		}
		nrev, err := s.repo.kv.Update(ctx, scheduleKey(r.Scope, group, name), b, rev)
		if err != nil {
			if store.IsConflict(err) {
				continue
			}
			return nil, err
		}
		s.wrote(nrev)
		return restapi.OK(map[string]string{"ScheduleArn": ScheduleArn(r.Scope, group, name)})
	}
	return nil, conflict("Schedule %s was changed concurrently; retry.", name)
}

func queryName(r *restapi.Request, q string) (*string, error) {
	v := r.Query(q)
	if v == "" && !r.HTTP.URL.Query().Has(q) {
		return nil, nil
	}
	return &v, checkName(&v, q, false)
}

func (s *Service) pathSchedule(ctx context.Context, r *restapi.Request) (string, string, *Schedule, uint64, error) {
	name := r.Path("Name")
	if err := checkName(&name, "name", true); err != nil {
		return "", "", nil, 0, err
	}
	gp, err := queryName(r, "groupName")
	if err != nil {
		return "", "", nil, 0, err
	}
	group := groupOf(gp)
	sc, rev, err := s.repo.getSchedule(ctx, r.Scope, group, name)
	if err != nil {
		return "", "", nil, 0, err
	}
	if sc == nil {
		return "", "", nil, 0, notFound("Schedule %s does not exist.", name)
	}
	return group, name, sc, rev, nil
}

func (s *Service) getSchedule(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
	_, _, sc, _, err := s.pathSchedule(ctx, r)
	if err != nil {
		return nil, err
	}
	sc.ClientToken = nil
	return restapi.OK(sc)
}

// sameToken reports whether two requests carry the same idempotency token.
func sameToken(a, b *string) bool { return a != nil && b != nil && *a == *b }

func (s *Service) deleteSchedule(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
	group, name, _, rev, err := s.pathSchedule(ctx, r)
	if err != nil {
		return nil, err
	}
	key := scheduleKey(r.Scope, group, name)
	if err := s.repo.deleteSchedule(ctx, key, rev); err != nil {
		if store.IsConflict(err) {
			return nil, conflict("Schedule %s was changed concurrently; retry.", name)
		}
		return nil, err
	}
	return restapi.OK(struct{}{})
}

// page reads MaxResults and NextToken: NextToken is the last key of the
// previous page.
func page(r *restapi.Request) (int, string, error) {
	n, ok, err := r.QueryInt("MaxResults")
	if err != nil {
		return 0, "", err
	}
	if !ok {
		n = 100
	}
	var v violations
	if ok {
		v.num(&n, "maxResults", 1, 100)
	}
	after := ""
	if tok := r.Query("NextToken"); tok != "" {
		b, err := base64.RawURLEncoding.DecodeString(tok)
		if len(tok) > 2048 || err != nil {
			return 0, "", awserr.Validation("Invalid NextToken.")
		}
		after = string(b)
	}
	return n, after, v.err()
}

func nextToken(key string) string { return base64.RawURLEncoding.EncodeToString([]byte(key)) }

// scheduleSummary is a ListSchedules entry.
type scheduleSummary struct {
	Arn                  string
	CreationDate         Time
	GroupName            string
	LastModificationDate Time
	Name                 string
	State                string
	Target               struct{ Arn string }
}

func (s *Service) listSchedules(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
	n, after, err := page(r)
	if err != nil {
		return nil, err
	}
	gp, err := queryName(r, "ScheduleGroup")
	if err != nil {
		return nil, err
	}
	prefix, err := queryName(r, "NamePrefix")
	if err != nil {
		return nil, err
	}
	var state *string
	if st := r.Query("State"); st != "" {
		var v violations
		v.enum(&st, "state", "ENABLED", "DISABLED")
		if err := v.err(); err != nil {
			return nil, err
		}
		state = &st
	}
	filter, prefix0 := scopeKey("s", r.Scope)+".*.*", scopeKey("s", r.Scope)+"."
	if gp != nil {
		g, _, err := s.repo.getGroup(ctx, r.Scope, *gp)
		if err != nil {
			return nil, err
		}
		if g == nil {
			return nil, notFound("Schedule group %s does not exist.", *gp)
		}
		filter = scopeKey("s", r.Scope) + "." + store.Token(*gp) + ".*"
		prefix0 += store.Token(*gp) + "."
	}
	// The engine's index of the bucket, once loaded and caught up with
	// what this process wrote; the bucket's keys before that.
	s.Engine.WaitApplied(ctx, s.lastWrite.Load())
	keys, ok := s.Engine.Keys(prefix0)
	if !ok {
		if keys, err = s.repo.keys(ctx, filter); err != nil {
			return nil, err
		}
	}
	out := struct {
		NextToken *string `json:",omitempty"`
		Schedules []scheduleSummary
	}{Schedules: []scheduleSummary{}}
	for _, k := range keys {
		if k <= after {
			continue
		}
		_, _, name, ok := parseScheduleKey(k)
		if !ok || prefix != nil && !strings.HasPrefix(name, *prefix) {
			continue
		}
		if len(out.Schedules) == n {
			last := nextToken(scheduleKeyOf(out.Schedules[n-1], r.Scope))
			out.NextToken = &last
			break
		}
		sc, _, err := s.repo.getScheduleKey(ctx, k)
		if err != nil {
			return nil, err
		}
		if sc == nil || state != nil && sc.State != *state {
			continue
		}
		e := scheduleSummary{Arn: sc.Arn, CreationDate: sc.CreationDate, GroupName: sc.GroupName,
			LastModificationDate: sc.LastModificationDate, Name: sc.Name, State: sc.State}
		e.Target.Arn = sc.Target.Arn
		out.Schedules = append(out.Schedules, e)
	}
	return restapi.OK(out)
}

func scheduleKeyOf(e scheduleSummary, sc control.Scope) string {
	return scheduleKey(sc, e.GroupName, e.Name)
}

// groupInput is the body of CreateScheduleGroup and TagResource.
type groupInput struct {
	ClientToken *string
	Tags        []Tag
}

func checkTags(tags []Tag, at string) error {
	var v violations
	if len(tags) > 200 {
		v.add(len(tags), at, "Member must have length less than or equal to 200")
	}
	for i, t := range tags {
		k, val := t.Key, t.Value
		p := at + "." + itoa(i+1) + ".member."
		v.str(&k, p+"key", 1, 128, nil, "", true)
		v.str(&val, p+"value", 1, 256, nil, "", true)
	}
	return v.err()
}

func itoa(i int) string { return strconv.Itoa(i) }

func (s *Service) createGroup(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
	name := r.Path("Name")
	var in groupInput
	if err := r.Decode(&in); err != nil {
		return nil, err
	}
	var v violations
	v.str(&name, "name", 1, 64, reName, patName, true)
	v.str(in.ClientToken, "clientToken", 1, 64, reToken, patToken, false)
	if err := v.err(); err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags, "tags"); err != nil {
		return nil, err
	}
	if _, _, err := s.repo.ensureDefault(ctx, r.Scope); err != nil {
		return nil, err
	}
	keys, err := s.repo.keys(ctx, scopeKey("g", r.Scope)+".*")
	if err != nil {
		return nil, err
	}
	if len(keys) >= MaxGroups {
		e := awserr.New("ServiceQuotaExceededException", "You have reached the maximum of %d schedule groups in this account and region.", MaxGroups)
		e.Status = http.StatusPaymentRequired
		return nil, e
	}
	t := now()
	g := &Group{Name: name, State: "ACTIVE", CreationDate: t, LastModificationDate: t, Tags: dedupeTags(nil, in.Tags), ClientToken: in.ClientToken}
	b, _ := json.Marshal(g)
	if _, err := s.repo.kv.Create(ctx, groupKey(r.Scope, name), b); err != nil {
		if store.IsConflict(err) {
			if old, _, gerr := s.repo.getGroup(ctx, r.Scope, name); gerr == nil && old != nil && old.State == "ACTIVE" && sameToken(old.ClientToken, in.ClientToken) {
				return restapi.OK(map[string]string{"ScheduleGroupArn": GroupArn(r.Scope, name)})
			}
			return nil, conflict("Schedule group %s already exists.", name)
		}
		return nil, err
	}
	return restapi.OK(map[string]string{"ScheduleGroupArn": GroupArn(r.Scope, name)})
}

// groupOutput is GetScheduleGroup's answer and a ListScheduleGroups entry.
type groupOutput struct {
	Arn                  string
	CreationDate         Time
	LastModificationDate Time
	Name                 string
	State                string
}

func (s *Service) pathGroup(ctx context.Context, r *restapi.Request) (*Group, uint64, error) {
	name := r.Path("Name")
	if err := checkName(&name, "name", true); err != nil {
		return nil, 0, err
	}
	g, rev, err := s.repo.getGroup(ctx, r.Scope, name)
	if err != nil {
		return nil, 0, err
	}
	if g == nil {
		return nil, 0, notFound("Schedule group %s does not exist.", name)
	}
	return g, rev, nil
}

func (s *Service) getGroup(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
	g, _, err := s.pathGroup(ctx, r)
	if err != nil {
		return nil, err
	}
	return restapi.OK(groupOutput{Arn: GroupArn(r.Scope, g.Name), CreationDate: g.CreationDate,
		LastModificationDate: g.LastModificationDate, Name: g.Name, State: g.State})
}

func (s *Service) deleteGroup(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
	if tok := r.Query("clientToken"); tok != "" {
		var v violations
		v.str(&tok, "clientToken", 1, 64, reToken, patToken, false)
		if err := v.err(); err != nil {
			return nil, err
		}
	}
	g, rev, err := s.pathGroup(ctx, r)
	if err != nil {
		return nil, err
	}
	if g.Name == DefaultGroup {
		return nil, awserr.Validation("The default schedule group cannot be deleted.")
	}
	if g.State == "DELETING" {
		return nil, conflict("Schedule group %s is already being deleted.", g.Name)
	}
	// As AWS does: the group turns DELETING, its schedules are deleted,
	// then the group. A process stopped in between leaves the group
	// DELETING, and the next process to start finishes the job.
	g.State, g.LastModificationDate = "DELETING", now()
	b, _ := json.Marshal(g)
	if _, err := s.repo.kv.Update(ctx, groupKey(r.Scope, g.Name), b, rev); err != nil {
		if store.IsConflict(err) {
			return nil, conflict("Schedule group %s was changed concurrently; retry.", g.Name)
		}
		return nil, err
	}
	s.finishDeletion(r.Scope, g.Name)
	return restapi.OK(struct{}{})
}

func (s *Service) listGroups(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
	n, after, err := page(r)
	if err != nil {
		return nil, err
	}
	prefix, err := queryName(r, "NamePrefix")
	if err != nil {
		return nil, err
	}
	if _, _, err := s.repo.ensureDefault(ctx, r.Scope); err != nil {
		return nil, err
	}
	keys, err := s.repo.keys(ctx, scopeKey("g", r.Scope)+".*")
	if err != nil {
		return nil, err
	}
	out := struct {
		NextToken      *string `json:",omitempty"`
		ScheduleGroups []groupOutput
	}{ScheduleGroups: []groupOutput{}}
	for _, k := range keys {
		if k <= after {
			continue
		}
		name := store.Untoken(k[strings.LastIndexByte(k, '.')+1:])
		if prefix != nil && !strings.HasPrefix(name, *prefix) {
			continue
		}
		if len(out.ScheduleGroups) == n {
			last := nextToken(groupKey(r.Scope, out.ScheduleGroups[n-1].Name))
			out.NextToken = &last
			break
		}
		g, _, err := s.repo.getGroup(ctx, r.Scope, name)
		if err != nil {
			return nil, err
		}
		if g == nil {
			continue
		}
		out.ScheduleGroups = append(out.ScheduleGroups, groupOutput{Arn: GroupArn(r.Scope, g.Name), CreationDate: g.CreationDate,
			LastModificationDate: g.LastModificationDate, Name: g.Name, State: g.State})
	}
	return restapi.OK(out)
}

// tagged returns the group a tagging request names: ResourceArn must be a
// schedule group ARN of the caller's account and region.
func (s *Service) tagged(ctx context.Context, r *restapi.Request) (*Group, uint64, error) {
	arn := r.Path("ResourceArn")
	var v violations
	v.str(&arn, "resourceArn", 1, 1011, reGroupArn, patGroupArn, true)
	if err := v.err(); err != nil {
		return nil, 0, err
	}
	name := arn[strings.LastIndexByte(arn, '/')+1:]
	if arn != GroupArn(r.Scope, name) {
		return nil, 0, notFound("Schedule group %s does not exist.", name)
	}
	g, rev, err := s.repo.getGroup(ctx, r.Scope, name)
	if err != nil {
		return nil, 0, err
	}
	if g == nil {
		return nil, 0, notFound("Schedule group %s does not exist.", name)
	}
	return g, rev, nil
}

// dedupeTags adds tags to old, a key given again taking the new value.
func dedupeTags(old, add []Tag) []Tag {
	out := append([]Tag(nil), old...)
	for _, t := range add {
		found := false
		for i := range out {
			if out[i].Key == t.Key {
				out[i].Value, found = t.Value, true
			}
		}
		if !found {
			out = append(out, t)
		}
	}
	return out
}

// retag rewrites a group's tags with optimistic concurrency.
func (s *Service) retag(ctx context.Context, r *restapi.Request, change func(g *Group) error) error {
	for attempt := 0; attempt < 5; attempt++ {
		g, rev, err := s.tagged(ctx, r)
		if err != nil {
			return err
		}
		if err := change(g); err != nil {
			return err
		}
		b, _ := json.Marshal(g)
		_, err = s.repo.kv.Update(ctx, groupKey(r.Scope, g.Name), b, rev)
		if err == nil {
			return nil
		}
		if !store.IsConflict(err) {
			return err
		}
	}
	return conflict("The schedule group was changed concurrently; retry.")
}

func (s *Service) tagResource(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
	var in groupInput
	if err := r.Decode(&in); err != nil {
		return nil, err
	}
	if in.Tags == nil {
		var v violations
		v.add(nil, "tags", "Member must not be null")
		return nil, v.err()
	}
	if err := checkTags(in.Tags, "tags"); err != nil {
		return nil, err
	}
	err := s.retag(ctx, r, func(g *Group) error {
		g.Tags = dedupeTags(g.Tags, in.Tags)
		if len(g.Tags) > 200 {
			return awserr.Validation("A schedule group can have at most 200 tags.")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return restapi.OK(struct{}{})
}

func (s *Service) untagResource(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
	keys := r.QueryList("TagKeys")
	if !r.HTTP.URL.Query().Has("TagKeys") {
		var v violations
		v.add(nil, "tagKeys", "Member must not be null")
		return nil, v.err()
	}
	var v violations
	for i, k := range keys {
		v.str(&k, "tagKeys."+itoa(i+1)+".member", 1, 128, nil, "", true)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	err := s.retag(ctx, r, func(g *Group) error {
		out := g.Tags[:0]
		for _, t := range g.Tags {
			drop := false
			for _, k := range keys {
				drop = drop || t.Key == k
			}
			if !drop {
				out = append(out, t)
			}
		}
		g.Tags = out
		return nil
	})
	if err != nil {
		return nil, err
	}
	return restapi.OK(struct{}{})
}

func (s *Service) listTags(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
	g, _, err := s.tagged(ctx, r)
	if err != nil {
		return nil, err
	}
	tags := g.Tags
	if tags == nil {
		tags = []Tag{}
	}
	return restapi.OK(map[string][]Tag{"Tags": tags})
}
