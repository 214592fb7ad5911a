// Command etcdctl is etcd's own client CLI (package ctlv3 holds its whole
// command tree), built at the version pinned in ../go.mod.
package main

import "go.etcd.io/etcd/etcdctl/v3/ctlv3"

func main() {
	ctlv3.MustStart()
}
