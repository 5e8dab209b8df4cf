package main

import (
	"os"
	"os/exec"
	"testing"
)

func TestVersionSpelling(t *testing.T) {
	tests := []struct {
		describe       string
		deb, rpm, prog string
	}{
		{"v1.2.3", "1.2.3", "1.2.3", "v1.2.3"},
		{"v1.2.3-0-gabc1234", "1.2.3", "1.2.3", "v1.2.3"},
		{"v1.2.3-4-gabc1234", "1.2.3+4.gabc1234", "1.2.3^4.gabc1234", "v1.2.3-4-gabc1234"},
		{"v1.2.3-0-gabc1234-dirty", "1.2.3+0.gabc1234.dirty", "1.2.3^0.gabc1234.dirty", "v1.2.3-0-gabc1234-dirty"},
		{"v1.2.3-rc.1", "1.2.3~rc.1", "1.2.3~rc.1", "v1.2.3-rc.1"},
		{"v1.2.3-rc.1-7-gdeadbee", "1.2.3~rc.1+7.gdeadbee", "1.2.3~rc.1^7.gdeadbee", "v1.2.3-rc.1-7-gdeadbee"},
		{"v0.0.0-15-g5a2e8b9", "0.0.0+15.g5a2e8b9", "0.0.0^15.g5a2e8b9", "v0.0.0-15-g5a2e8b9"},
		{"2.0.0", "2.0.0", "2.0.0", "v2.0.0"},
	}
	for _, tt := range tests {
		t.Run(tt.describe, func(t *testing.T) {
			v, err := parseDescribe(tt.describe)
			if err != nil {
				t.Fatal(err)
			}
			if got := v.Deb(); got != tt.deb {
				t.Errorf("Deb() = %q, want %q", got, tt.deb)
			}
			if got := v.RPM(); got != tt.rpm {
				t.Errorf("RPM() = %q, want %q", got, tt.rpm)
			}
			if got := v.String(); got != tt.prog {
				t.Errorf("String() = %q, want %q", got, tt.prog)
			}
		})
	}
}

func TestVersionRefused(t *testing.T) {
	for _, s := range []string{"", "5a2e8b9", "v1.2", "v1.2.3-rc-1", "v1.2.3 ", "release-1.2.3", "v1.2.3-4-gXYZ"} {
		if _, err := parseDescribe(s); err == nil {
			t.Errorf("parseDescribe(%q) accepted", s)
		}
	}
}

// TestVersionOrder asks dpkg itself that the spellings sort as releases do:
// a pre-release before its release, later commits after it, all before the
// next release.
func TestVersionOrder(t *testing.T) {
	dpkg, err := exec.LookPath("dpkg")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("no dpkg, and CI runs on Debian")
		}
		t.Skip("no dpkg")
	}
	order := []string{"v1.2.3-rc.1", "v1.2.3-rc.1-7-gdeadbee", "v1.2.3", "v1.2.3-4-gabc1234", "v1.2.3-5-gabc1235", "v1.2.4"}
	for i := 1; i < len(order); i++ {
		a, _ := parseDescribe(order[i-1])
		b, _ := parseDescribe(order[i])
		if err := exec.Command(dpkg, "--compare-versions", a.Deb(), "lt", b.Deb()).Run(); err != nil {
			t.Errorf("dpkg: %s is not before %s", a.Deb(), b.Deb())
		}
	}
}
