package srcdate

import (
	"strings"
	"testing"
	"time"
)

func TestEpochFromEnv(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	got, err := Epoch()
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Unix(1700000000, 0).UTC(); !got.Equal(want) {
		t.Fatalf("Epoch() = %v, want %v", got, want)
	}
	if e := Env(got); e != "SOURCE_DATE_EPOCH=1700000000" {
		t.Fatalf("Env = %q", e)
	}
}

func TestEpochRefused(t *testing.T) {
	for _, v := range []string{"yesterday", "-5", "0", "1.5"} {
		t.Setenv("SOURCE_DATE_EPOCH", v)
		if _, err := Epoch(); err == nil || !strings.Contains(err.Error(), "want seconds since 1970") {
			t.Errorf("SOURCE_DATE_EPOCH=%q: err = %v", v, err)
		}
	}
}

func TestEpochFromGit(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "")
	got, err := Epoch()
	if err != nil {
		t.Skipf("not in a git checkout: %v", err)
	}
	if got.Before(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("commit time %v is before the project began", got)
	}
}
