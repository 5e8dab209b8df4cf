package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
)

// TestCreateSessionWithinRace: 20 concurrent creates of one owner against
// a limit of 5 leave exactly 5 rows, on both engines; another owner is not
// counted.
func TestCreateSessionWithinRace(t *testing.T) {
	engines(t, func(t *testing.T, cfg Config) {
		ctx := context.Background()
		s := open(t, cfg)
		other := &Session{ID: "o1", OwnerPerson: ptr("bob"), OwnerUID: ptr(int64(1002)), Project: "p", Agent: "a", Status: "running"}
		if err := s.CreateSession(ctx, other); err != nil {
			t.Fatal(err)
		}
		// Connections open before the race, so that the creates run side
		// by side rather than queue for new connections. Well under the
		// store's own cap on PostgreSQL (maxPGConns, of which the instance
		// lock pins one): pinning all would wait forever for a connection
		// none of them gives back.
		warm := min(20, maxPGConns/2)
		s.DB().SetMaxIdleConns(warm)
		var conns []*sql.Conn
		for range warm {
			c, err := s.DB().Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.PingContext(ctx); err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
		}
		for _, c := range conns {
			c.Close()
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make([]error, 20)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = s.CreateSessionWithin(ctx, &Session{ID: fmt.Sprintf("s%d", i), OwnerPerson: ptr("alice"), OwnerUID: ptr(int64(1001)),
					Project: "p", Agent: "a", Status: "starting"}, []string{"starting", "running"}, 5)
			}()
		}
		close(start)
		wg.Wait()
		ok, limited := 0, 0
		for _, err := range errs {
			var le *LimitError
			switch {
			case err == nil:
				ok++
			case errors.As(err, &le) && le.Have == 5 && le.Max == 5:
				limited++
			default:
				t.Errorf("CreateSessionWithin: %v", err)
			}
		}
		uid := int64(1001)
		rows, err := s.ListSessions(ctx, SessionFilter{OwnerUID: &uid})
		if err != nil {
			t.Fatal(err)
		}
		if ok != 5 || limited != 15 || len(rows) != 5 {
			t.Errorf("20 concurrent creates against 5: %d created, %d refused, %d rows; want 5, 15, 5", ok, limited, len(rows))
		}
	})
}
