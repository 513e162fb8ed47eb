package redistest

import (
	"context"
	"testing"
	"time"
)

func TestStartKillRestartPause(t *testing.T) {
	s := Start(t)
	c := s.Client()
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	s.Kill()
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("ping succeeded after Kill")
	}
	s.Restart()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("ping after Restart: %v", err)
	}
	if n, err := c.Exists(ctx, "k").Result(); err != nil || n != 0 {
		t.Fatalf("data survived restart: %d, %v", n, err)
	}
	s.Pause()
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	err := c.Ping(short).Err()
	cancel()
	if err == nil {
		t.Fatal("ping answered while paused")
	}
	s.Resume()
	// The connection that timed out is discarded; a new one works.
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("ping after Resume: %v", err)
	}
}
