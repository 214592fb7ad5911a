// Command etcd is etcd's own server, built from its Go module at the version
// pinned in ../go.mod: the parity tests run it as a real member.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
