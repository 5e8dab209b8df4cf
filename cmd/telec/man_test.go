package main

import (
	"io"
	"testing"

	"github.com/instruktai/teleclaude/internal/cli"
)

func TestManPage(t *testing.T) {
	for _, problem := range cli.CheckMan(newRoot(io.Discard), t.TempDir()) {
		t.Error(problem)
	}
}
