// bbolt-gen writes bbolt files with features etcd on x86-64 never produces
// (synced array freelists, page sizes other than 4096, nested and inline
// buckets, overflow pages) and runs bbolt's own tx.Check() as an oracle.
//
// Built from its Go module (go.mod pins go.etcd.io/bbolt; scripts/setup.sh
// fills the module cache, and the tests build it offline with Go 1.26):
//
//	GOPROXY=off /usr/local/go/bin/go build -o bbolt-gen .
//
// Usage:
//
//	bbolt-gen gen FILE PAGESIZE   write the test database
//	bbolt-gen bigfree FILE        1 KiB pages, >65535 free pages (freelist count escape)
//	bbolt-gen dump FILE           every entry, recursively, in ForEach order
//	bbolt-gen check FILE          tx.Check() errors, one per line
package main

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"

	bolt "go.etcd.io/bbolt"
)

func die(err error) {
	fmt.Fprintln(os.Stderr, "bbolt-gen:", err)
	os.Exit(1)
}

func gen(path string, pageSize int) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		PageSize:       pageSize,
		NoFreelistSync: false,
		FreelistType:   bolt.FreelistArrayType,
	})
	if err != nil {
		die(err)
	}
	defer db.Close()
	// Several transactions so that pages are freed and the freelist is non-empty.
	for round := 0; round < 3; round++ {
		err = db.Update(func(tx *bolt.Tx) error {
			top, err := tx.CreateBucketIfNotExists([]byte("top"))
			if err != nil {
				return err
			}
			// Many keys: branch pages.
			for i := 0; i < 2000; i++ {
				v := bytes.Repeat([]byte{byte('a' + i%26)}, 40+round)
				if err := top.Put([]byte(fmt.Sprintf("key-%05d", i)), v); err != nil {
					return err
				}
			}
			// Values larger than a page: overflow pages.
			big, err := tx.CreateBucketIfNotExists([]byte("big"))
			if err != nil {
				return err
			}
			for i := 0; i < 3; i++ {
				v := bytes.Repeat([]byte{byte('0' + i)}, pageSize*(2+i)+round)
				if err := big.Put([]byte(fmt.Sprintf("blob-%d", i)), v); err != nil {
					return err
				}
			}
			// A nested bucket holding a small inline bucket and a large one.
			outer, err := top.CreateBucketIfNotExists([]byte("nested"))
			if err != nil {
				return err
			}
			inl, err := outer.CreateBucketIfNotExists([]byte("inline"))
			if err != nil {
				return err
			}
			if err := inl.Put([]byte("tiny"), []byte(fmt.Sprintf("round %d", round))); err != nil {
				return err
			}
			deep, err := outer.CreateBucketIfNotExists([]byte("deep"))
			if err != nil {
				return err
			}
			for i := 0; i < 500; i++ {
				if err := deep.Put([]byte(fmt.Sprintf("d-%04d", i)), []byte(strings.Repeat("x", 30))); err != nil {
					return err
				}
			}
			// An empty inline bucket at the top level.
			if _, err := tx.CreateBucketIfNotExists([]byte("empty")); err != nil {
				return err
			}
			// Delete some keys: freed pages.
			for i := round; i < 2000; i += 7 {
				if err := top.Delete([]byte(fmt.Sprintf("key-%05d", i))); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			die(err)
		}
	}
}

// bigfree frees one value spanning 70 000 pages, so the freelist holds more
// ids than its u16 count can say.
func bigfree(path string) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{PageSize: 1024, FreelistType: bolt.FreelistArrayType})
	if err != nil {
		die(err)
	}
	defer db.Close()
	for _, del := range []bool{false, true} {
		err = db.Update(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists([]byte("b"))
			if err != nil {
				return err
			}
			if del {
				return b.Delete([]byte("blob"))
			}
			if err := b.Put([]byte("keep"), []byte("kept")); err != nil {
				return err
			}
			return b.Put([]byte("blob"), make([]byte, 70000*1024))
		})
		if err != nil {
			die(err)
		}
	}
}

func dump(b *bolt.Bucket, path string) {
	_ = b.ForEach(func(k, v []byte) error {
		if v == nil {
			fmt.Printf("%s\t%s\tBUCKET\n", path, hex.EncodeToString(k))
			dump(b.Bucket(k), path+"/"+hex.EncodeToString(k))
		} else {
			fmt.Printf("%s\t%s\t%s\n", path, hex.EncodeToString(k), hex.EncodeToString(v))
		}
		return nil
	})
}

func main() {
	if len(os.Args) < 3 {
		die(fmt.Errorf("usage: bbolt-gen gen FILE PAGESIZE | dump FILE | check FILE"))
	}
	switch os.Args[1] {
	case "gen":
		ps, err := strconv.Atoi(os.Args[3])
		if err != nil {
			die(err)
		}
		gen(os.Args[2], ps)
	case "bigfree":
		bigfree(os.Args[2])
	case "dump", "check":
		db, err := bolt.Open(os.Args[2], 0o400, &bolt.Options{ReadOnly: true})
		if err != nil {
			die(err)
		}
		defer db.Close()
		_ = db.View(func(tx *bolt.Tx) error {
			if os.Args[1] == "check" {
				for e := range tx.Check() {
					fmt.Println(e.Error())
				}
				return nil
			}
			_ = tx.ForEach(func(name []byte, b *bolt.Bucket) error {
				fmt.Printf("\t%s\tBUCKET\n", hex.EncodeToString(name))
				dump(b, hex.EncodeToString(name))
				return nil
			})
			return nil
		})
	default:
		die(fmt.Errorf("unknown command %q", os.Args[1]))
	}
}
