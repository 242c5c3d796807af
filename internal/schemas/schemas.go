package schemas

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/restapi"
	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/schemacheck"
	"github.com/switchyard/switchyard/schemainfer"
)

type schemaOut struct {
	Content            string `json:",omitempty"`
	Description        string `json:",omitempty"`
	LastModified       string
	SchemaArn          string
	SchemaName         string
	SchemaVersion      string
	Tags               map[string]string `json:"tags"`
	Type               string
	VersionCreatedDate string
}

func (s *Service) out(sc control.Scope, sch *Schema, v *Version) schemaOut {
	return schemaOut{Description: sch.Description, LastModified: timestamp(sch.LastModified),
		SchemaArn: schemaARN(sc, sch.Registry, sch.Name), SchemaName: sch.Name, SchemaVersion: strconv.Itoa(v.Number),
		Tags: tagsOut(sch.Tags), Type: v.Type, VersionCreatedDate: timestamp(v.Created)}
}

// schema returns a schema (nil if it does not exist) and its revision.
func (s *Service) schema(ctx context.Context, sc control.Scope, registry, name string) (*Schema, uint64, error) {
	if registry == AWSEventsRegistry {
		if b := builtins[name]; b != nil {
			sch := b.schema
			return &sch, 0, nil
		}
		return nil, 0, nil
	}
	var sch Schema
	rev, err := s.db.get(ctx, key(kindSchema, sc, registry, name), &sch)
	if err != nil || rev == 0 {
		return nil, 0, err
	}
	return &sch, rev, nil
}

// mustVersion returns a schema and one of its versions ("" the latest),
// NotFoundException if either does not exist.
func (s *Service) mustVersion(ctx context.Context, sc control.Scope, registry, name, version string) (*Schema, *Version, uint64, error) {
	if _, _, err := s.mustRegistry(ctx, sc, registry); err != nil {
		return nil, nil, 0, err
	}
	sch, rev, err := s.schema(ctx, sc, registry, name)
	if err != nil {
		return nil, nil, 0, err
	}
	if sch == nil {
		return nil, nil, 0, notFound("Schema with name '%s' does not exist in registry '%s'.", name, registry)
	}
	v := sch.version(version)
	if v == nil {
		return nil, nil, 0, notFound("Schema '%s' has no version '%s'.", name, version)
	}
	return sch, v, rev, nil
}

// content returns a version's content.
func (s *Service) content(ctx context.Context, sc control.Scope, sch *Schema, v *Version) ([]byte, error) {
	if sch.Registry == AWSEventsRegistry {
		return builtins[sch.Name].content, nil
	}
	c, err := s.db.getRaw(ctx, v.Content)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, notFound("Schema '%s' version %d has no content.", sch.Name, v.Number)
	}
	return c, nil
}

// checkSchemaContent applies the model's bounds and the engine's checks
// to a schema document of type typ.
func checkSchemaContent(content, typ string) error {
	if content == "" {
		return badRequest("Content must not be empty.")
	}
	if n := utf8.RuneCountInString(content); n > maxContent {
		return badRequest("Content must be at most %d characters long; it has %d.", maxContent, n)
	}
	if err := schemacheck.CheckContent([]byte(content), typ); err != nil {
		// schemacheck's messages are CreateSchema's: they name the type
		// and the place in the document.
		return badRequest("%v", err)
	}
	return nil
}

// addMode says whether addVersion's schema must exist.
type addMode int

const (
	mustExist    addMode = iota // UpdateSchema
	mustNotExist                // CreateSchema
	mayExist                    // discovery
)

// addVersion adds a version to a schema, creating it unless mode is mustExist,
// retrying lost races. build gives the version's content and type from
// the schema as it is now (with no versions when it does not exist yet),
// or ok false to add nothing; it may change the schema's other fields too,
// which are written with the version. token is the version's ClientToken.
// It returns the schema and the new version (nil when build added
// nothing).
func (s *Service) addVersion(ctx context.Context, sc control.Scope, registry, name string, mode addMode,
	token string, build func(cur *Schema) (content []byte, typ string, ok bool, err error)) (*Schema, *Version, error) {
	for {
		sch, rev, err := s.schema(ctx, sc, registry, name)
		if err != nil {
			return nil, nil, err
		}
		switch {
		case sch == nil && mode == mustExist:
			return nil, nil, notFound("Schema with name '%s' does not exist in registry '%s'.", name, registry)
		case sch != nil && mode == mustNotExist:
			return nil, nil, conflict("Schema with name '%s' already exists in registry '%s'.", name, registry)
		}
		if sch == nil {
			sch = &Schema{Registry: registry, Name: name}
		}
		content, typ, ok, err := build(sch)
		if err != nil || !ok {
			return sch, nil, err
		}
		ck := key(kindVersion, sc, registry, name, uuid.NewString())
		if err := s.db.put(ctx, ck, content); err != nil {
			return nil, nil, err
		}
		now := s.now()
		sch.Last++
		v := Version{Number: sch.Last, Type: typ, Created: now, Content: ck, ClientToken: token}
		sch.Versions = append(sch.Versions, v)
		sch.LastModified = now
		if _, err := s.db.swap(ctx, key(kindSchema, sc, registry, name), sch, rev); err != nil {
			_ = s.db.delete(ctx, ck)
			if store.IsConflict(err) {
				continue
			}
			return nil, nil, err
		}
		return sch, &v, nil
	}
}

type schemaIn struct {
	Content       *string
	Description   *string
	Tags          map[string]string
	Type          *string
	ClientTokenId *string
}

func (s *Service) createSchema(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
	registry, name := r.Path("registryName"), r.Path("schemaName")
	var in schemaIn
	if err := r.Decode(&in); err != nil {
		return nil, err
	}
	switch {
	case in.Type == nil:
		return nil, badRequest("Type is required.")
	case in.Content == nil:
		return nil, badRequest("Content is required.")
	}
	if err := checkSchemaName(name); err != nil {
		return nil, err
	}
	if err := checkType(*in.Type); err != nil {
		return nil, err
	}
	if err := checkDescription(in.Description); err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	if err := checkSchemaContent(*in.Content, *in.Type); err != nil {
		return nil, err
	}
	if registry == AWSEventsRegistry {
		return nil, forbidden("The registry '%s' is managed by AWS; schemas cannot be created in it.", registry)
	}
	if _, _, err := s.mustRegistry(ctx, r.Scope, registry); err != nil {
		return nil, err
	}
	sch, v, err := s.addVersion(ctx, r.Scope, registry, name, mustNotExist, "", func(cur *Schema) ([]byte, string, bool, error) {
		cur.Tags = in.Tags
		if in.Description != nil {
			cur.Description = *in.Description
		}
		return []byte(*in.Content), *in.Type, true, nil
	})
	if err != nil {
		return nil, err
	}
	return created(s.out(r.Scope, sch, v))
}

func (s *Service) describeSchema(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
	sch, v, _, err := s.mustVersion(ctx, r.Scope, r.Path("registryName"), r.Path("schemaName"), r.Query("schemaVersion"))
	if err != nil {
		return nil, err
	}
	c, err := s.content(ctx, r.Scope, sch, v)
	if err != nil {
		return nil, err
	}
	out := s.out(r.Scope, sch, v)
	out.Content = string(c)
	return restapi.OK(out)
}

// updateSchema makes a new version when Content is given (of Type, or the
// latest version's type), and otherwise changes the description only.
func (s *Service) updateSchema(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
	registry, name := r.Path("registryName"), r.Path("schemaName")
	var in schemaIn
	if err := r.Decode(&in); err != nil {
		return nil, err
	}
	if in.ClientTokenId != nil && len(*in.ClientTokenId) > 36 {
		return nil, badRequest("ClientTokenId must be at most 36 characters long.")
	}
	if in.Type != nil {
		if err := checkType(*in.Type); err != nil {
			return nil, err
		}
	}
	if err := checkDescription(in.Description); err != nil {
		return nil, err
	}
	if registry == AWSEventsRegistry {
		return nil, forbidden("The registry '%s' is managed by AWS; its schemas cannot be updated.", registry)
	}
	sch, latest, rev, err := s.mustVersion(ctx, r.Scope, registry, name, "")
	if err != nil {
		return nil, err
	}
	if in.Content == nil {
		if in.Type != nil && *in.Type != latest.Type {
			return nil, badRequest("Type cannot change without new Content.")
		}
		for {
			if in.Description != nil {
				sch.Description = *in.Description
			}
			sch.LastModified = s.now()
			if _, err := s.db.swap(ctx, key(kindSchema, r.Scope, registry, name), sch, rev); err != nil {
				if store.IsConflict(err) {
					if sch, latest, rev, err = s.mustVersion(ctx, r.Scope, registry, name, ""); err != nil {
						return nil, err
					}
					continue
				}
				return nil, err
			}
			return restapi.OK(s.out(r.Scope, sch, latest))
		}
	}
	typ := latest.Type
	if in.Type != nil {
		typ = *in.Type
	}
	if err := checkSchemaContent(*in.Content, typ); err != nil {
		return nil, err
	}
	token := ""
	if in.ClientTokenId != nil {
		token = *in.ClientTokenId
	}
	var retried *Version
	sch, v, err := s.addVersion(ctx, r.Scope, registry, name, mustExist, token, func(cur *Schema) ([]byte, string, bool, error) {
		for i := range cur.Versions {
			if token != "" && cur.Versions[i].ClientToken == token {
				retried = &cur.Versions[i]
				return nil, "", false, nil
			}
		}
		if in.Description != nil {
			cur.Description = *in.Description
		}
		return []byte(*in.Content), typ, true, nil
	})
	if err != nil {
		return nil, err
	}
	if retried != nil {
		return restapi.OK(s.out(r.Scope, sch, retried))
	}
	return restapi.OK(s.out(r.Scope, sch, v))
}

func (s *Service) deleteSchema(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
	registry, name := r.Path("registryName"), r.Path("schemaName")
	if registry == AWSEventsRegistry {
		return nil, forbidden("The registry '%s' is managed by AWS; its schemas cannot be deleted.", registry)
	}
	if _, _, _, err := s.mustVersion(ctx, r.Scope, registry, name, ""); err != nil {
		return nil, err
	}
	if err := s.db.delete(ctx, key(kindSchema, r.Scope, registry, name)); err != nil {
		return nil, err
	}
	for _, kind := range []string{kindVersion, kindBinding} {
		ks, err := s.db.keys(ctx, key(kind, r.Scope, registry, name)+".>")
		if err != nil {
			return nil, err
		}
		for _, k := range ks {
			if err := s.db.delete(ctx, k); err != nil {
				return nil, err
			}
		}
	}
	return noContent()
}

// deleteSchemaVersion deletes one version; deleting the last one left
// deletes the schema.
func (s *Service) deleteSchemaVersion(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
	registry, name, version := r.Path("registryName"), r.Path("schemaName"), r.Path("schemaVersion")
	if registry == AWSEventsRegistry {
		return nil, forbidden("The registry '%s' is managed by AWS; its schemas cannot be deleted.", registry)
	}
	if _, err := strconv.Atoi(version); err != nil {
		return nil, badRequest("Invalid SchemaVersion '%s': versions are numbers.", version)
	}
	for {
		sch, v, rev, err := s.mustVersion(ctx, r.Scope, registry, name, version)
		if err != nil {
			return nil, err
		}
		ck := v.Content
		kept := sch.Versions[:0:0]
		for _, x := range sch.Versions {
			if x.Number != v.Number {
				kept = append(kept, x)
			}
		}
		sch.Versions = kept
		sch.LastModified = s.now()
		k := key(kindSchema, r.Scope, registry, name)
		if len(kept) == 0 {
			err = s.db.kv.Delete(ctx, k, jetstream.LastRevision(rev))
		} else {
			_, err = s.db.swap(ctx, k, sch, rev)
		}
		if err != nil {
			if store.IsConflict(err) {
				continue
			}
			return nil, err
		}
		if err := s.db.delete(ctx, ck); err != nil {
			return nil, err
		}
		ks, err := s.db.keys(ctx, key(kindBinding, r.Scope, registry, name, version)+".*")
		if err != nil {
			return nil, err
		}
		for _, k := range ks {
			_ = s.db.delete(ctx, k)
		}
		return noContent()
	}
}

// schemas returns the schemas of a registry, in name order.
func (s *Service) schemas(ctx context.Context, sc control.Scope, registry string) ([]*Schema, error) {
	if registry == AWSEventsRegistry {
		var out []*Schema
		for _, n := range sortedKeys(builtins) {
			sch := builtins[n].schema
			out = append(out, &sch)
		}
		return out, nil
	}
	entries, err := s.db.list(ctx, key(kindSchema, sc, registry)+".*")
	if err != nil {
		return nil, err
	}
	out := make([]*Schema, 0, len(entries))
	for _, e := range entries {
		var sch Schema
		if err := json.Unmarshal(e.Value, &sch); err != nil {
			s.log.Warn("schemas: undecodable schema record", "key", e.Key, "err", err)
			continue
		}
		out = append(out, &sch)
	}
	return out, nil
}

func (s *Service) listSchemas(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
	registry, prefix := r.Path("registryName"), r.Query("schemaNamePrefix")
	p, err := pageOf(r, "schemas/"+registry)
	if err != nil {
		return nil, err
	}
	if _, _, err := s.mustRegistry(ctx, r.Scope, registry); err != nil {
		return nil, err
	}
	all, err := s.schemas(ctx, r.Scope, registry)
	if err != nil {
		return nil, err
	}
	var names []string
	byName := map[string]*Schema{}
	for _, sch := range all {
		if strings.HasPrefix(sch.Name, prefix) {
			names = append(names, sch.Name)
			byName[sch.Name] = sch
		}
	}
	from, to, next := p.take(names)
	type summary struct {
		LastModified string
		SchemaArn    string
		SchemaName   string
		Tags         map[string]string `json:"tags"`
		VersionCount int64
	}
	out := struct {
		NextToken string `json:",omitempty"`
		Schemas   []summary
	}{NextToken: next, Schemas: []summary{}}
	for _, n := range names[from:to] {
		sch := byName[n]
		out.Schemas = append(out.Schemas, summary{timestamp(sch.LastModified), schemaARN(r.Scope, registry, n), n,
			tagsOut(sch.Tags), int64(len(sch.Versions))})
	}
	return restapi.OK(out)
}

func (s *Service) listSchemaVersions(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
	registry, name := r.Path("registryName"), r.Path("schemaName")
	p, err := pageOf(r, "versions/"+registry+"/"+name)
	if err != nil {
		return nil, err
	}
	sch, _, _, err := s.mustVersion(ctx, r.Scope, registry, name, "")
	if err != nil {
		return nil, err
	}
	// Keys sort as strings: zero-padded numbers keep version order.
	keys := make([]string, len(sch.Versions))
	for i, v := range sch.Versions {
		keys[i] = padded(v.Number)
	}
	from, to, next := p.take(keys)
	type summary struct {
		SchemaArn     string
		SchemaName    string
		SchemaVersion string
		Type          string
	}
	out := struct {
		NextToken      string `json:",omitempty"`
		SchemaVersions []summary
	}{NextToken: next, SchemaVersions: []summary{}}
	for _, v := range sch.Versions[from:to] {
		out.SchemaVersions = append(out.SchemaVersions, summary{schemaARN(r.Scope, registry, name), name, strconv.Itoa(v.Number), v.Type})
	}
	return restapi.OK(out)
}

func padded(n int) string {
	s := strconv.Itoa(n)
	return strings.Repeat("0", max(0, 12-len(s))) + s
}

// searchSchemas finds the schemas of a registry whose names contain any of
// the keywords (separated by spaces), ignoring case: SearchSchemas
// "search[es] the schemas that match the keywords" in their names (Schemas
// API Reference, Search Schemas).
func (s *Service) searchSchemas(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
	registry := r.Path("registryName")
	keywords := strings.Fields(strings.ToLower(r.Query("keywords")))
	if len(keywords) == 0 {
		return nil, badRequest("Keywords is required.")
	}
	p, err := pageOf(r, "search/"+registry+"/"+strings.Join(keywords, " "))
	if err != nil {
		return nil, err
	}
	if _, _, err := s.mustRegistry(ctx, r.Scope, registry); err != nil {
		return nil, err
	}
	all, err := s.schemas(ctx, r.Scope, registry)
	if err != nil {
		return nil, err
	}
	var names []string
	byName := map[string]*Schema{}
	for _, sch := range all {
		lower := strings.ToLower(sch.Name)
		for _, k := range keywords {
			if strings.Contains(lower, k) {
				names = append(names, sch.Name)
				byName[sch.Name] = sch
				break
			}
		}
	}
	from, to, next := p.take(names)
	type version struct {
		CreatedDate   string
		SchemaVersion string
		Type          string
	}
	type summary struct {
		RegistryName   string
		SchemaArn      string
		SchemaName     string
		SchemaVersions []version
	}
	out := struct {
		NextToken string `json:",omitempty"`
		Schemas   []summary
	}{NextToken: next, Schemas: []summary{}}
	for _, n := range names[from:to] {
		sch := byName[n]
		sum := summary{RegistryName: registry, SchemaArn: schemaARN(r.Scope, registry, n), SchemaName: n, SchemaVersions: []version{}}
		for _, v := range sch.Versions {
			sum.SchemaVersions = append(sum.SchemaVersions, version{timestamp(v.Created), strconv.Itoa(v.Number), v.Type})
		}
		out.Schemas = append(out.Schemas, sum)
	}
	return restapi.OK(out)
}

// exportSchema converts a version to JSON Schema draft 4, the one export
// type ("Exporting schemas", EventBridge User Guide: the export is
// "JSONSchemaDraft4").
func (s *Service) exportSchema(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
	typ := r.Query("type")
	if typ == "" {
		return nil, badRequest("Type is required.")
	}
	if typ != TypeDraft4 {
		return nil, badRequest("Invalid Type '%s'. Schemas can be exported as JSONSchemaDraft4 only.", typ)
	}
	sch, v, _, err := s.mustVersion(ctx, r.Scope, r.Path("registryName"), r.Path("schemaName"), r.Query("schemaVersion"))
	if err != nil {
		return nil, err
	}
	c, err := s.content(ctx, r.Scope, sch, v)
	if err != nil {
		return nil, err
	}
	if v.Type == TypeOpenAPI3 {
		if c, err = schemainfer.ToJSONSchemaDraft4(c); err != nil {
			return nil, badRequest("Schema '%s' version %d cannot be exported: %v", sch.Name, v.Number, err)
		}
	}
	return restapi.OK(map[string]string{"Content": string(c), "SchemaArn": schemaARN(r.Scope, sch.Registry, sch.Name),
		"SchemaName": sch.Name, "SchemaVersion": strconv.Itoa(v.Number), "Type": TypeDraft4})
}
