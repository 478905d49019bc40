package blobs

import (
	"os"
	"syscall"
)

// startWriteback asks the kernel to start writing a range of f to disk, without waiting for it
// (sync_file_range(2) with SYNC_FILE_RANGE_WRITE). It makes nothing durable, the fsync after does; a
// failure only leaves the range for that fsync to write, so it is ignored.
func startWriteback(f *os.File, offset, length int64) {
	const syncFileRangeWrite = 2 // SYNC_FILE_RANGE_WRITE
	_, _, _ = syscall.Syscall6(syscall.SYS_SYNC_FILE_RANGE, f.Fd(), uintptr(offset), uintptr(length), syncFileRangeWrite, 0, 0)
}
