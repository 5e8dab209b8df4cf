package main

import (
	"bytes"
	"testing"

	"github.com/instruktai/teleclaude/internal/apitype"
)

func TestTranscriptPrinter(t *testing.T) {
	var b bytes.Buffer
	p := transcriptPrinter{w: &b, atLineStart: true}
	for _, e := range []apitype.TranscriptEntry{
		{Direction: "out", Content: "$ "},
		{Direction: "in", Content: "ls\n"},
		{Direction: "out", Content: "a b\n$ "},
		{Direction: "in", Content: "exit"},
	} {
		p.print(e)
	}
	if got, want := b.String(), "$ \n» ls\na b\n$ \n» exit\n"; got != want {
		t.Errorf("printed %q, want %q", got, want)
	}
}
