package main

import (
	"testing"

	"github.com/instruktai/teleclaude/internal/cli"
)

func TestManPage(t *testing.T) {
	for _, problem := range cli.CheckMan(newRoot(), t.TempDir()) {
		t.Error(problem)
	}
}
