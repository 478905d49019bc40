package blobs

import (
	"io"
	"os"
	"sync"
)

const (
	// putBufferSize is each of the two buffers a Put reads into: one is hashed and filled while the other
	// is written, and the two stay within what a streaming Put may hold.
	putBufferSize = 256 << 10
	// writebackEvery is how many written bytes a Put hands the disk at a time: the disk writes them while
	// the rest arrive, so the fsync at the end waits for the last of them, not for the whole file.
	writebackEvery = 1 << 20
)

// putBuffers keeps the buffers of finished Puts for the next.
var putBuffers = sync.Pool{New: func() any {
	buf := make([]byte, putBufferSize)
	return &buf
}}

// copyToFile writes what c reads to f, reading (and so hashing) the next buffer while the last one is
// written, and starting the disk's writeback of each writebackEvery bytes written. It stops at the first
// failure of either side.
func copyToFile(f *os.File, c io.Reader) error {
	free := make(chan *[]byte, 2)
	for range 2 {
		buf := putBuffers.Get().(*[]byte)
		defer putBuffers.Put(buf)
		free <- buf
	}
	type filled struct {
		buf *[]byte
		n   int
	}
	full := make(chan filled)
	failed := make(chan struct{}) // closed when a write fails
	written := make(chan error, 1)
	go func() {
		var err error
		var offset, handedOver int64
		for p := range full {
			if err == nil {
				_, err = f.Write((*p.buf)[:p.n])
				offset += int64(p.n)
				if err != nil {
					close(failed)
				} else if offset-handedOver >= writebackEvery {
					startWriteback(f, handedOver, offset-handedOver)
					handedOver = offset
				}
			}
			free <- p.buf
		}
		written <- err
	}()
	var readErr error
	for readErr == nil {
		var buf *[]byte
		select {
		case buf = <-free:
		case <-failed:
		}
		if buf == nil {
			break
		}
		n, err := c.Read(*buf) // what has arrived, written at once rather than when a buffer fills
		if n > 0 {
			full <- filled{buf: buf, n: n}
		} else {
			free <- buf
		}
		if err == io.EOF {
			break
		}
		readErr = err
	}
	close(full)
	if err := <-written; err != nil {
		return err
	}
	return readErr
}
