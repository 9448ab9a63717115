// klauspost/reedsolomon (MinIO's codec) side of hack/bench-codec: encode and reconstruct
// throughput on one goroutine with the Cauchy matrix Strata uses.
// Prints "RESULT klauspost-go <k>+<m> <op> <GB/s of data>" and "CHECK klauspost-go <k>+<m> <fnv64>".
package main

import (
	"fmt"
	"hash/fnv"
	"os"
	"runtime"
	"strconv"
	"time"

	"github.com/klauspost/reedsolomon"
)

func main() {
	if len(os.Args) < 4 {
		fmt.Fprintln(os.Stderr, "usage: klauspost_bench K M SHARD_LEN [SECONDS]")
		os.Exit(2)
	}
	runtime.GOMAXPROCS(1)
	k, _ := strconv.Atoi(os.Args[1])
	m, _ := strconv.Atoi(os.Args[2])
	size, _ := strconv.Atoi(os.Args[3])
	secs := 1.0
	if len(os.Args) > 4 {
		secs, _ = strconv.ParseFloat(os.Args[4], 64)
	}
	enc, err := reedsolomon.New(k, m, reedsolomon.WithCauchyMatrix(), reedsolomon.WithMaxGoroutines(1))
	if err != nil {
		panic(err)
	}
	shards := make([][]byte, k+m)
	for i := range shards {
		shards[i] = make([]byte, size)
		for j := range shards[i] {
			shards[i][j] = byte(i*131 + j*7 + (j >> 8))
		}
	}
	if err := enc.Encode(shards); err != nil {
		panic(err)
	}
	h := fnv.New64a()
	for _, p := range shards[k:] {
		h.Write(p)
	}
	fmt.Printf("CHECK klauspost-go %d+%d %016x\n", k, m, h.Sum64())

	bytes := float64(k * size)
	const rounds = 5
	report := func(op string, f func()) {
		f() // warm up (fills the inversion cache for reconstruct)
		// Best of `rounds` rounds, so load from other processes does not skew one side.
		best := 0.0
		for r := 0; r < rounds; r++ {
			n := 0
			start := time.Now()
			for time.Since(start).Seconds() < secs/rounds {
				f()
				n++
			}
			if v := float64(n) * bytes / time.Since(start).Seconds() / 1e9; v > best {
				best = v
			}
		}
		fmt.Printf("RESULT klauspost-go %d+%d %s %.2f\n", k, m, op, best)
	}
	report("encode", func() {
		if err := enc.Encode(shards); err != nil {
			panic(err)
		}
	})
	lose := func(n int) func() {
		return func() {
			// A zero-length slice with enough capacity marks the shard missing and is reused.
			for i := 0; i < n; i++ {
				shards[i] = shards[i][:0]
			}
			if err := enc.ReconstructData(shards); err != nil {
				panic(err)
			}
		}
	}
	report("reconstruct-1", lose(1))
	if m > 1 {
		report("reconstruct-m", lose(m))
	}
}
