package api

import "testing"

func TestListCache(t *testing.T) {
	var c listCache
	c.put(1, "uid:1", []byte("a"))
	if b, ok := c.get(1, "uid:1"); !ok || string(b) != "a" {
		t.Errorf("get(1) = %q, %v", b, ok)
	}
	if _, ok := c.get(2, "uid:1"); ok {
		t.Error("an entry outlived a change")
	}
	// A list read before a change already seen is never stored.
	c.put(3, "uid:1", []byte("new"))
	c.put(2, "uid:1", []byte("old"))
	if b, _ := c.get(3, "uid:1"); string(b) != "new" {
		t.Errorf("get(3) = %q, want new", b)
	}
	c.put(3, "big", make([]byte, listCacheBody+1))
	if _, ok := c.get(3, "big"); ok {
		t.Error("an oversized list was cached")
	}
}
