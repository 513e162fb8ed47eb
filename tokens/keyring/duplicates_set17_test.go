package keyring_test

import (
	"context"
	"testing"
)

// TestRealSetLeavesOneItem: a Set (a rotated refresh token) must leave the
// new value as the only item of its service and key, not an old copy
// beside it that another reader (or a Get after a Delete) serves.
func TestRealSetLeavesOneItem(t *testing.T) {
	needSecretTool(t)
	ctx := context.Background()
	s := newStore(t)
	if err := s.Set(ctx, "refresh-token", []byte("rt-1")); err != nil {
		t.Fatal(err)
	}
	storeWithExtraAttribute(t, s, "refresh-token", "rt-provisioned")
	if err := s.Set(ctx, "refresh-token", []byte("rt-2")); err != nil {
		t.Fatal(err)
	}
	if vs := itemValues(t, s, "refresh-token"); len(vs) != 1 || vs[0] != "rt-2" {
		t.Fatalf("after Set the keyring holds %q, want only rt-2", vs)
	}
	if got, err := s.Get(ctx, "refresh-token"); err != nil || string(got) != "rt-2" {
		t.Fatalf("Get = %q, %v; want rt-2", got, err)
	}
}
