// Package flood holds API connections open the way a hostile local user
// would (docs/DESIGN.md, "Threat model"): each sends headers that promise
// a large body, then drips it a byte a second. The package tests, the
// booted package test and the benchmark run it as one member, to show that
// everyone else is still served.
package flood

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Stats is what a flood saw.
type Stats struct {
	Opened  int // connections the daemon accepted
	Refused int // answered 429 at once (over the caller's share)
	Closed  int // closed by the daemon while dripping (its read deadline)
	Held    int // Opened - Refused
}

func (s Stats) String() string {
	return fmt.Sprintf("held=%d refused429=%d closed_by_daemon=%d opened=%d", s.Held, s.Refused, s.Closed, s.Opened)
}

// Run opens n connections to sock and drips into them until hold has
// passed; ready is called once all are open and the refusals are in.
func Run(sock string, n int, hold time.Duration, ready func()) Stats {
	var refused, closed atomic.Int64
	var conns []net.Conn
	var wg sync.WaitGroup
	end := time.Now().Add(hold)
	for i := 0; i < n; i++ {
		c, err := net.Dial("unix", sock)
		if err != nil {
			continue
		}
		conns = append(conns, c)
		fmt.Fprintf(c, "POST /v1/sessions HTTP/1.1\r\nHost: teleclaude\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{")
		wg.Add(1)
		go func(c net.Conn) {
			defer wg.Done()
			got := make(chan string, 1)
			go func() {
				line, _ := bufio.NewReader(c).ReadString('\n')
				got <- line
			}()
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for {
				select {
				case line := <-got:
					if strings.HasPrefix(line, "HTTP/1.1 429") {
						refused.Add(1)
					} else {
						closed.Add(1)
					}
					return
				case <-tick.C:
					if time.Now().After(end) {
						return
					}
					c.Write([]byte(" "))
				}
			}
		}(c)
	}
	time.Sleep(500 * time.Millisecond)
	if ready != nil {
		ready()
	}
	wg.Wait()
	for _, c := range conns {
		c.Close()
	}
	st := Stats{Opened: len(conns), Refused: int(refused.Load()), Closed: int(closed.Load())}
	st.Held = st.Opened - st.Refused
	return st
}
