package schemas

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard/switchyard/codebind"
	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/restapi"
	"github.com/switchyard/switchyard/internal/store"
)

// Code binding statuses (CodeGenerationStatus).
const (
	bindingInProgress = "CREATE_IN_PROGRESS"
	bindingComplete   = "CREATE_COMPLETE"
	bindingFailed     = "CREATE_FAILED"
)

// staleGeneration is how long a binding may stay CREATE_IN_PROGRESS
// before PutCodeBinding starts it again: the process generating it may
// have ended.
const staleGeneration = time.Minute

type bindingOut struct {
	CreationDate  string
	LastModified  string
	SchemaVersion string
	Status        string
}

func (s *Service) bindingArgs(ctx context.Context, r *restapi.Request) (*Schema, *Version, string, string, error) {
	lang := r.Path("language")
	if !slices.Contains(codebind.Languages, lang) {
		return nil, nil, "", "", badRequest("Invalid Language '%s'. Valid values are %s.", lang, strings.Join(codebind.Languages, ", "))
	}
	sch, v, _, err := s.mustVersion(ctx, r.Scope, r.Path("registryName"), r.Path("schemaName"), r.Query("schemaVersion"))
	if err != nil {
		return nil, nil, "", "", err
	}
	return sch, v, lang, key(kindBinding, r.Scope, sch.Registry, sch.Name, strconv.Itoa(v.Number), lang), nil
}

// putCodeBinding starts generating a binding (202, CREATE_IN_PROGRESS) and
// finishes it in the background; a binding already made or being made is
// answered as it is.
func (s *Service) putCodeBinding(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
	sch, v, lang, k, err := s.bindingArgs(ctx, r)
	if err != nil {
		return nil, err
	}
	var b Binding
	rev, err := s.db.get(ctx, k, &b)
	if err != nil {
		return nil, err
	}
	now := s.now()
	if rev != 0 && !(b.Status == bindingInProgress && now.Sub(b.LastModified) > staleGeneration) && b.Status != bindingFailed {
		return &restapi.Response{Status: http.StatusAccepted, Body: bindingOut{timestamp(b.Created), timestamp(b.LastModified), strconv.Itoa(v.Number), b.Status}}, nil
	}
	b = Binding{Status: bindingInProgress, Created: now, LastModified: now}
	if _, err := s.db.swap(ctx, k, &b, rev); err != nil {
		if store.IsConflict(err) {
			// Another request started it first.
			if _, err := s.db.get(ctx, k, &b); err != nil {
				return nil, err
			}
			return &restapi.Response{Status: http.StatusAccepted, Body: bindingOut{timestamp(b.Created), timestamp(b.LastModified), strconv.Itoa(v.Number), b.Status}}, nil
		}
		return nil, err
	}
	content, err := s.content(ctx, r.Scope, sch, v)
	if err != nil {
		return nil, err
	}
	sc, typ, name := r.Scope, v.Type, sch.Name
	s.cfg.Group.Go(func() error {
		s.generate(s.cfg.Ctx, sc, k, lang, name, typ, content, b)
		return nil
	})
	return &restapi.Response{Status: http.StatusAccepted, Body: bindingOut{timestamp(b.Created), timestamp(b.LastModified), strconv.Itoa(v.Number), b.Status}}, nil
}

// generate makes the binding and records it: CREATE_COMPLETE with its zip,
// or CREATE_FAILED.
func (s *Service) generate(ctx context.Context, _ control.Scope, k, lang, name, typ string, content []byte, b Binding) {
	zip, err := codebind.Generate(lang, name, content, typ)
	b.LastModified = s.now()
	if err != nil {
		s.log.Warn("schemas: code binding failed", "schema", name, "language", lang, "err", err)
		b.Status, b.Error = bindingFailed, err.Error()
	} else {
		b.Status, b.Zip = bindingComplete, zip
	}
	for range 5 {
		var cur Binding
		rev, err := s.db.get(ctx, k, &cur)
		if err != nil || rev == 0 || !cur.Created.Equal(b.Created) {
			// Deleted with its schema, or started again.
			return
		}
		if _, err = s.db.swap(ctx, k, &b, rev); err == nil || !store.IsConflict(err) {
			if err != nil && !errors.Is(err, context.Canceled) {
				s.log.Error("schemas: store code binding", "schema", name, "language", lang, "err", err)
			}
			return
		}
	}
}

func (s *Service) describeCodeBinding(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
	_, v, lang, k, err := s.bindingArgs(ctx, r)
	if err != nil {
		return nil, err
	}
	var b Binding
	rev, err := s.db.get(ctx, k, &b)
	if err != nil {
		return nil, err
	}
	if rev == 0 {
		return nil, notFound("No %s code binding of schema '%s' version %d exists. Create it with PutCodeBinding.", lang, r.Path("schemaName"), v.Number)
	}
	return restapi.OK(bindingOut{timestamp(b.Created), timestamp(b.LastModified), strconv.Itoa(v.Number), b.Status})
}

func (s *Service) getCodeBindingSource(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
	_, v, lang, k, err := s.bindingArgs(ctx, r)
	if err != nil {
		return nil, err
	}
	var b Binding
	rev, err := s.db.get(ctx, k, &b)
	if err != nil {
		return nil, err
	}
	if rev == 0 || b.Status != bindingComplete {
		return nil, notFound("No generated %s code binding of schema '%s' version %d exists.", lang, r.Path("schemaName"), v.Number)
	}
	return &restapi.Response{Body: b.Zip, ContentType: "application/octet-stream"}, nil
}
