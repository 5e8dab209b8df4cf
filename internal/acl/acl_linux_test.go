package acl

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/instruktai/teleclaude/internal/testenv"
)

// TestSetReadBack writes ACLs and has getfacl, an independent reader, say
// what the kernel stored.
func TestSetReadBack(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "d")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	access := Spec{Owner: RWX, Users: []Grant{{UID: 4242, Perm: RWX}, {UID: 4141, Perm: Execute}}}
	if err := Set(sub, access); err != nil {
		if strings.Contains(err.Error(), ErrUnsupported.Error()) {
			t.Skipf("%v", err)
		}
		t.Fatal(err)
	}
	def := Spec{Owner: RW, Users: []Grant{{UID: 4242, Perm: RW}}}
	if err := SetDefault(sub, def); err != nil {
		t.Fatal(err)
	}
	got, err := Get(sub)
	if err != nil {
		t.Fatal(err)
	}
	want := Spec{Owner: RWX, Users: []Grant{{UID: 4141, Perm: Execute}, {UID: 4242, Perm: RWX}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Get = %+v, want %+v (sorted by uid)", got, want)
	}
	if got, err := GetDefault(sub); err != nil || !reflect.DeepEqual(got, def) {
		t.Errorf("GetDefault = %+v, %v; want %+v", got, err, def)
	}

	getfacl := testenv.Tool(t, "getfacl")
	out, err := exec.Command(getfacl, "-n", "-p", "-c", sub).CombinedOutput()
	if err != nil {
		t.Fatalf("getfacl: %v: %s", err, out)
	}
	for _, line := range []string{"user::rwx", "user:4141:--x", "user:4242:rwx", "group::---", "mask::rwx", "other::---",
		"default:user::rw-", "default:user:4242:rw-", "default:group::---", "default:mask::rw-", "default:other::---"} {
		if !strings.Contains(string(out), line+"\n") {
			t.Errorf("getfacl lacks %q:\n%s", line, out)
		}
	}

	// A file created inside inherits the default ACL.
	f := filepath.Join(sub, "f")
	if err := os.WriteFile(f, nil, 0o660); err != nil {
		t.Fatal(err)
	}
	out, _ = exec.Command(getfacl, "-n", "-p", "-c", f).CombinedOutput()
	if !strings.Contains(string(out), "user:"+strconv.Itoa(4242)+":rw-") {
		t.Errorf("new file did not inherit the default ACL:\n%s", out)
	}
}

func TestSetMissingFile(t *testing.T) {
	err := Set(filepath.Join(t.TempDir(), "nope"), Spec{Owner: RW})
	if err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("Set(missing) = %v, want an error naming the file", err)
	}
}
