package control

import (
	"context"
	"errors"
)

// create writes a new record under key; exists is the error when one
// appeared there meanwhile, created by this or another process.
func (s *Service) create(ctx context.Context, key string, v any, exists error) error {
	err := s.write(ctx, key, v, 0)
	if errors.Is(err, errConflict) {
		return exists
	}
	return err
}

// setGiven sets *dst to *v when v is given: the members an update leaves
// out keep their values.
func setGiven[T any](dst, v *T) {
	if v != nil {
		*dst = *v
	}
}

// keep returns the items for which ok holds.
func keep[T any](items []T, ok func(T) bool) []T {
	var out []T
	for _, it := range items {
		if ok(it) {
			out = append(out, it)
		}
	}
	return out
}
