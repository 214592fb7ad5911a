// bbolt-gen: the bbolt format oracle for wasm-core's tests, against the bbolt
// release etcd 3.6 ships (go.etcd.io/bbolt v1.4.3).
module etcd-lens/tools/bbolt-gen

go 1.26.0

require go.etcd.io/bbolt v1.4.3

require golang.org/x/sys v0.29.0 // indirect
