package soak

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"testing"

	"github.com/gatehouse-dev/gatehouse/e2e"
)

var long = flag.Bool("soak.long", os.Getenv("GATEHOUSE_SOAK_LONG") != "", "run the long soak (also GATEHOUSE_SOAK_LONG=1)")

// gatehouseBin is the binary TestMain builds once.
var gatehouseBin string

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "gatehouse-soak-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if gatehouseBin, err = e2e.Build(ctx, "../../cmd/gatehouse", dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// size is how much one run does.
type size struct {
	name      string
	ops       int // operations of the steady load
	workers   int // concurrent clients
	faultOps  int // operations of the load that runs through each fault
	solves    int // rattler solves, spread over the run
	killLoads int // uploads in flight when a replica is killed
}

func runSize() size {
	if *long {
		return size{name: "long", ops: 10000, workers: 16, faultOps: 1000, solves: 12, killLoads: 16}
	}
	return size{name: "short", ops: 1500, workers: 12, faultOps: 300, solves: 4, killLoads: 8}
}
