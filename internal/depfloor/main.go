// Command depfloor measures the memory floor of perfkit's mandated
// dependencies: it links cobra, viper, tablewriter, montanaflynn/stats and
// pprof's driver, as perfkit must, and does nothing else. Its peak RSS is
// what any binary with those dependencies pays before it opens a socket: the
// file-backed pages its package initialisers touch (the kernel maps a
// binary's text and data in 64 KiB windows around each first touch) and
// their heap.
//
//	CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o /tmp/depfloor ./internal/depfloor
//	/usr/bin/time -f '%M KiB' /tmp/depfloor
//
// docs/development.md, "Engine figures", compares it with perfkit and its
// peers.
package main

import (
	"fmt"

	"github.com/google/pprof/driver"
	"github.com/montanaflynn/stats"
	"github.com/olekukonko/tablewriter"
	"github.com/spf13/cobra"
	"github.com/spf13/viper"
)

// linked keeps one function of each dependency, so the linker keeps the
// packages and their initialisers.
var linked = []any{driver.PProf, stats.Mean, tablewriter.NewWriter, viper.New, (*cobra.Command).Execute}

func main() { fmt.Println(len(linked), "dependencies linked") }
