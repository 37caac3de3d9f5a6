package cache

import (
	"context"
	"encoding/json"
	"fmt"
)

// GetJSON is Manager.Get for values stored as JSON: load returns a T, which
// is encoded once and cached; every hit decodes into a fresh T. JSON (not
// gob) so that a value read back from a shared Redis can only ever become
// data, never code or an unexpected type.
func GetJSON[T any](ctx context.Context, m *Manager, key string, load func(ctx context.Context, key string) (T, error)) (T, Result, error) {
	var v T
	res, err := m.Get(ctx, key, func(ctx context.Context, key string) ([]byte, error) {
		x, err := load(ctx, key)
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(x)
		if err != nil {
			return nil, fmt.Errorf("encoding %s as JSON: %w", key, err)
		}
		return b, nil
	})
	if err != nil {
		return v, res, err
	}
	if err := json.Unmarshal(res.Value, &v); err != nil {
		return v, res, fmt.Errorf("cache get %s: decoding JSON from %s: %w", key, res.Source, err)
	}
	return v, res, nil
}

// SetJSON is Manager.Set for a value stored as JSON.
func SetJSON[T any](ctx context.Context, m *Manager, key string, v T) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("cache set %s: encoding JSON: %w", key, err)
	}
	return m.Set(ctx, key, b)
}
