package main

import (
	"context"
	"testing"
)

// TestEmbedScene runs the example end to end: it must keep working as the
// packages it shows change.
func TestEmbedScene(t *testing.T) {
	if err := run(context.Background(), []string{"-dir", t.TempDir()}); err != nil {
		t.Fatal(err)
	}
}
