// Command flood is the booted package test's hostile member: it holds
// connections to the daemon's socket (internal/flood), prints "opened"
// once they are in place, and its counts at the end.
//
//	flood SOCKET N HOLD
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/instruktai/teleclaude/internal/flood"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: flood SOCKET N HOLD")
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[2])
	hold, err2 := time.ParseDuration(os.Args[3])
	if err != nil || err2 != nil {
		fmt.Fprintln(os.Stderr, "flood: N is a number, HOLD a duration (30s)")
		os.Exit(2)
	}
	st := flood.Run(os.Args[1], n, hold, func() { fmt.Println("opened") })
	fmt.Println(st)
}
