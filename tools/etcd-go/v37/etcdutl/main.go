// Command etcdutl is etcd's offline tool at the version pinned in ../go.mod.
//
// etcdutl's root command lives in its module's package main, which cannot be
// imported, so this file assembles the same root from the exported pieces of
// package etcdutl: the same subcommands and the same global flags, --write-out
// and (new in 3.7) --timeout for the db file lock, with 3.7's default of 10 s.
// Every subcommand's behaviour and output is etcdutl's own code.
package main

import (
	"time"

	"github.com/spf13/cobra"

	"go.etcd.io/etcd/etcdutl/v3/etcdutl"
	"go.etcd.io/etcd/pkg/v3/cobrautl"
)

func main() {
	cobra.EnablePrefixMatching = true
	root := &cobra.Command{Use: "etcdutl", Short: "etcd's offline tool (etcdutl 3.7)"}
	root.PersistentFlags().DurationVar(&etcdutl.FlockTimeout, "timeout", 10*time.Second,
		"how long to wait for the db file's lock; 0 waits forever")
	root.PersistentFlags().StringVarP(&etcdutl.OutputFormat, "write-out", "w", "simple",
		"output format: fields, json, protobuf, simple or table")
	root.AddCommand(
		etcdutl.NewDefragCommand(),
		etcdutl.NewSnapshotCommand(),
		etcdutl.NewHashKVCommand(),
		etcdutl.NewVersionCommand(),
		etcdutl.NewCompletionCommand(),
		etcdutl.NewMigrateCommand(),
	)
	if err := root.Execute(); err != nil {
		cobrautl.ExitWithError(cobrautl.ExitError, err)
	}
}
