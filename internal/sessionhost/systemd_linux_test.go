package sessionhost

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestPackagedRuleRange keeps the range the daemon names in its refusal the
// one the packaged polkit rule really grants, and the example it points to
// in the package.
func TestPackagedRuleRange(t *testing.T) {
	rule, err := os.ReadFile("../../packaging/polkit/50-teleclaude.rules")
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("uid >= %d && uid < %d", packagedRule.first, packagedRule.last+1)
	if !strings.Contains(string(rule), want) {
		t.Errorf("50-teleclaude.rules does not grant %q", want)
	}
	nfpm, err := os.ReadFile("../../packaging/nfpm.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(nfpm), "dst: "+directoryRuleExample) {
		t.Errorf("the packages do not install %s", directoryRuleExample)
	}
}
