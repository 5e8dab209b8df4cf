package errdefs

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"
)

func TestKinds(t *testing.T) {
	cause := fs.ErrNotExist
	err := fmt.Errorf("context: %w", Unavailablef("project dir: %w", cause))
	if k, ok := KindOf(err); !ok || k != Unavailable {
		t.Errorf("KindOf = %v, %v; want Unavailable", k, ok)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Error("the cause is lost")
	}
	if got, want := err.Error(), "context: project dir: file does not exist"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if _, ok := KindOf(errors.New("plain")); ok {
		t.Error("a plain error has a kind")
	}
	for _, e := range []error{Invalidf("a"), Forbiddenf("b"), NotFoundf("c"), Conflictf("d")} {
		if _, ok := KindOf(e); !ok {
			t.Errorf("%v has no kind", e)
		}
	}
}
