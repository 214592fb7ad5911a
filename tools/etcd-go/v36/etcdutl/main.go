// Command etcdutl is etcd's offline tool at the version pinned in ../go.mod.
//
// etcdutl's root command lives in its module's package main, which cannot be
// imported, so this file assembles the same root from the exported pieces of
// package etcdutl: the same subcommands and the same global --write-out flag
// (the only global flag 3.6 has). Every subcommand's behaviour and output is
// etcdutl's own code.
package main

import (
	"github.com/spf13/cobra"

	"go.etcd.io/etcd/etcdutl/v3/etcdutl"
	"go.etcd.io/etcd/pkg/v3/cobrautl"
)

func main() {
	cobra.EnablePrefixMatching = true
	root := &cobra.Command{Use: "etcdutl", Short: "etcd's offline tool (etcdutl 3.6)"}
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
