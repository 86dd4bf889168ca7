package ledger

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
)

// bbolt's file format, as far as checkBoltFile reads it (go.etcd.io/bbolt
// internal/common: page.go, meta.go). A page starts with a 16-byte header;
// pages 0 and 1 hold a meta each, written alternately.
const (
	boltMagic      = 0xED0CDAED
	boltVersion    = 2
	boltPageHeader = 16
	boltMetaSize   = 64 // magic .. checksum
	boltMetaSum    = 56 // the checksum covers the bytes before it
)

// boltMeta is the part of a meta page checkBoltFile needs.
type boltMeta struct {
	pageSize uint32
	pages    uint64 // the high-water mark: pages [0, pages) are in use
	txid     uint64
}

// readBoltMeta decodes the meta at the start of page buf and reports
// whether it is intact (magic, version, checksum).
func readBoltMeta(buf []byte) (boltMeta, bool) {
	if len(buf) < boltPageHeader+boltMetaSize {
		return boltMeta{}, false
	}
	m := buf[boltPageHeader : boltPageHeader+boltMetaSize]
	le := binary.LittleEndian // bbolt writes native order; recallbot builds for little-endian hosts
	h := fnv.New64a()
	_, _ = h.Write(m[:boltMetaSum])
	if le.Uint32(m[0:]) != boltMagic || le.Uint32(m[4:]) != boltVersion || h.Sum64() != le.Uint64(m[boltMetaSum:]) {
		return boltMeta{}, false
	}
	return boltMeta{pageSize: le.Uint32(m[8:]), pages: le.Uint64(m[40:]), txid: le.Uint64(m[48:])}, true
}

// checkBoltFile checks an existing file before bbolt maps it: bbolt trusts
// its meta page and reads pages past the end of a truncated file, which
// kills the process with SIGBUS instead of returning an error. The file
// must hold an intact meta page whose pages all lie within the file.
func checkBoltFile(path string, size int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	head := make([]byte, 4096)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("reading its first page: %w", err)
	}
	m0, ok0 := readBoltMeta(head[:n])
	var m1 boltMeta
	ok1 := false
	if ok0 && m0.pageSize >= 1024 && m0.pageSize <= 1<<16 {
		page := make([]byte, boltPageHeader+boltMetaSize)
		if _, err := f.ReadAt(page, int64(m0.pageSize)); err == nil {
			m1, ok1 = readBoltMeta(page)
		}
	}
	best, ok := m0, ok0
	if ok1 && (!ok0 || m1.txid > m0.txid) {
		best, ok = m1, true
	}
	switch {
	case !ok:
		return errors.New("it is not a bbolt database (no intact meta page)")
	case best.pageSize < 1024 || best.pageSize > 1<<16:
		return fmt.Errorf("its meta page names a page size of %d bytes", best.pageSize)
	case size%int64(best.pageSize) != 0:
		return fmt.Errorf("it is %d bytes, not a whole number of %d-byte pages: it was truncated or damaged", size, best.pageSize)
	case uint64(size) < best.pages*uint64(best.pageSize):
		return fmt.Errorf("it is %d bytes but its pages reach %d bytes: it was truncated", size, best.pages*uint64(best.pageSize))
	}
	return nil
}

// checkParent gives a clear error for a ledger path whose directory is
// missing or not a directory.
func checkParent(path string) error {
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("ledger %s: the directory %s does not exist; create it or fix ledger.path", path, dir)
	case err != nil:
		return fmt.Errorf("ledger %s: %w", path, err)
	case !fi.IsDir():
		return fmt.Errorf("ledger %s: %s is not a directory", path, dir)
	}
	return nil
}
