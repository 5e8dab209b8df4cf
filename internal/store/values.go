package store

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// sqliteTime is how SQLite stores times: fixed-width UTC text, so that
// lexical order is time order and the migration to PostgreSQL is exact.
const sqliteTime = "2006-01-02T15:04:05.000000Z"

// now is the store's clock, at the precision both engines keep.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// tv turns a time into the engine's representation.
func (s *Store) tv(t time.Time) any {
	t = t.UTC().Truncate(time.Microsecond)
	if s.engine == SQLite {
		return t.Format(sqliteTime)
	}
	return t
}

func (s *Store) tvp(t *time.Time) any {
	if t == nil {
		return nil
	}
	return s.tv(*t)
}

// jv turns a JSON document into a parameter: NULL when empty.
func jv(m json.RawMessage) any {
	if len(m) == 0 {
		return nil
	}
	return string(m)
}

// dbTime scans either engine's time.
type dbTime struct {
	T     time.Time
	Valid bool
}

func (d *dbTime) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		d.Valid = false
		return nil
	case time.Time:
		d.T, d.Valid = v.UTC(), true
		return nil
	case string:
		return d.parse(v)
	case []byte:
		return d.parse(string(v))
	}
	return fmt.Errorf("cannot scan %T into a time", v)
}

func (d *dbTime) parse(s string) error {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("bad time %q: %w", s, err)
	}
	d.T, d.Valid = t.UTC(), true
	return nil
}

func (d dbTime) ptr() *time.Time {
	if !d.Valid {
		return nil
	}
	t := d.T
	return &t
}

// dbJSON scans a JSON column from either engine.
type dbJSON struct{ M json.RawMessage }

func (d *dbJSON) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		d.M = nil
	case string:
		d.M = json.RawMessage(v)
	case []byte:
		d.M = append(json.RawMessage(nil), v...)
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		d.M = b
	}
	return nil
}

var (
	_ sql.Scanner = (*dbTime)(nil)
	_ sql.Scanner = (*dbJSON)(nil)
)
