package tokens

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// mapStore is a Store of a caller's that prints its values (a map).
type mapStore map[string]string

func (m mapStore) Get(_ context.Context, k string) ([]byte, error) { return []byte(m[k]), nil }
func (m mapStore) Set(context.Context, string, []byte) error       { return nil }
func (m mapStore) Delete(context.Context, string) error            { return nil }

// TestStoreSourcePrintsNoSecret: the Source StoreSource returns prints its
// key and type with every fmt verb and slog, never its store, whose
// values (a caller's map-based Store) fmt would print field by field.
func TestStoreSourcePrintsNoSecret(t *testing.T) {
	src := StoreSource(mapStore{"api-key": secretValue}, "api-key", "")
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("source", "src", src)
	for _, s := range []string{fmt.Sprint(src), fmt.Sprintf("%+v", src), fmt.Sprintf("%#v", src), buf.String()} {
		if containsSecret(s) || !strings.Contains(s, "api-key") {
			t.Errorf("printed %q: want the key, no secret", s)
		}
	}
}
