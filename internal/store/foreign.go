package store

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ncruces/go-sqlite3"

	"github.com/instruktai/teleclaude/internal/fileown"
)

// ErrForeign is matched by errors.Is when Open refuses a SQLite file that
// another program made: the upstream Python TeleClaude's database, or any
// database with tables and no schema version of ours.
var ErrForeign = errors.New("not this program's database")

// refuseForeign looks at an existing SQLite file before anything opens it
// for writing: goose would add its version table and the WAL pragma would
// change the header, and a database that is then refused must be left
// exactly as it was (see docs/DESIGN.md, "Storage and migration").
func refuseForeign(path string) error {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && st.Size() == 0) {
		return nil
	}
	if err != nil {
		return err
	}
	tables, err := schemaTables(path)
	if errors.Is(err, sqlite3.CORRUPT) {
		// Its schema pages are damaged: quick_check would say the same.
		return damaged(path, err.Error())
	}
	if err != nil {
		return err
	}
	if !slices.Contains(tables, "goose_db_version") {
		// Un-checkpointed transactions live in the -wal: the main file
		// alone may not show the tables yet. Read a copy with its -wal,
		// since opening the original would write its -shm.
		if wst, err := os.Stat(path + "-wal"); err == nil && wst.Size() > 0 {
			if tables, err = schemaTablesOfCopy(path); errors.Is(err, sqlite3.CORRUPT) {
				return damaged(path, err.Error())
			} else if err != nil {
				return err
			}
		}
	}
	if len(tables) == 0 || slices.Contains(tables, "goose_db_version") {
		return nil
	}
	what := fmt.Sprintf("it has tables this program does not know (%s) and no schema version", strings.Join(first(tables, 6), ", "))
	if slices.Contains(tables, "sessions") && slices.Contains(tables, "schema_migrations") ||
		slices.Contains(tables, "sessions") && slices.Contains(tables, "voice_assignments") {
		what = "it is the upstream Python TeleClaude's database"
	}
	return fmt.Errorf("%w: %s; it was left untouched. Move it with `teleclaude migrate --from-install DIR --to DSN` "+
		"(DIR: the upstream checkout), or point database.path at a new file", ErrForeign, what)
}

func first(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(s[:n:n], fmt.Sprintf("and %d more", len(s)-n))
}

// schemaTables lists a database file's ordinary tables, reading the file
// immutable: no lock, no -shm, nothing written.
func schemaTables(path string) ([]string, error) {
	u := url.URL{Scheme: "file", OmitHost: true, Path: path, RawQuery: "mode=ro&immutable=1"}
	c, err := sqlite3.OpenFlags(u.String(), sqlite3.OPEN_READONLY|sqlite3.OPEN_URI)
	if err != nil {
		return nil, fmt.Errorf("read its schema: %w", err)
	}
	defer c.Close()
	return tablesOf(c)
}

func tablesOf(c *sqlite3.Conn) ([]string, error) {
	st, _, err := c.Prepare(`SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`)
	if err != nil {
		if errors.Is(err, sqlite3.NOTADB) {
			return nil, fmt.Errorf("the file is damaged, encrypted or not a SQLite database (it was left untouched): %w", err)
		}
		return nil, fmt.Errorf("read its schema: %w", err)
	}
	defer st.Close()
	var out []string
	for st.Step() {
		out = append(out, st.ColumnText(0))
	}
	if err := st.Err(); err != nil {
		return nil, fmt.Errorf("read its schema: %w", err)
	}
	return out, nil
}

func schemaTablesOfCopy(path string) ([]string, error) {
	dir, err := os.MkdirTemp("", "teleclaude-probe-")
	if err != nil {
		return nil, fmt.Errorf("read its schema: %w", err)
	}
	defer os.RemoveAll(dir)
	cp := filepath.Join(dir, "probe.db")
	for _, sfx := range []string{"", "-wal"} {
		if err := fileown.CopyPrivate(path+sfx, cp+sfx); err != nil {
			return nil, fmt.Errorf("read its schema: %w", err)
		}
	}
	// Read-write, so that SQLite replays the copy's -wal.
	c, err := sqlite3.Open(cp)
	if err != nil {
		return nil, fmt.Errorf("read its schema: %w", err)
	}
	defer c.Close()
	return tablesOf(c)
}
