package api

import (
	"sync"
)

// listCache keeps encoded session lists until any session changes. Lists
// are read far more often than sessions start or end (a status bar polls
// every second; output does not change a list), and every caller with the
// same view (sessions.ListView) shares an answer.
//
// Entries are tagged with the sessions' generation read before the list
// was: a change moves the generation after it is written, so an entry can
// only be older than its tag says if the tag is already stale.
type listCache struct {
	mu     sync.Mutex
	gen    uint64
	bodies map[string][]byte
}

// Bounds: beyond them lists are answered uncached, never wrongly.
const (
	listCacheEntries = 1024
	listCacheBody    = 4 << 20
)

func (c *listCache) get(gen uint64, key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return nil, false
	}
	b, ok := c.bodies[key]
	return b, ok
}

func (c *listCache) put(gen uint64, key string, body []byte) {
	if len(body) > listCacheBody {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case gen < c.gen:
		return // read before a change already seen
	case gen > c.gen || c.bodies == nil:
		c.gen, c.bodies = gen, map[string][]byte{}
	}
	if len(c.bodies) < listCacheEntries {
		c.bodies[key] = body
	}
}
