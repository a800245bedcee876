// The Go pool of the seed article's shape, measured by lesson 9 beside the Rust pools.
//
// A jobs channel and a results channel, each with a buffer of 100; `-workers` goroutines
// that range over the jobs and send each number doubled; one goroutine that sends every
// job and closes the jobs channel; and main, which reads one result per job. Lesson 9
// builds this file with `go build` when `go` is on the PATH, runs it with the same flags
// as its own measuring processes, and reads back the same one-line answer:
// `ok NANOSECONDS PEAK_KIB` for the middle round, or `error MESSAGE`.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"
)

const buffer = 100

func worker(jobs <-chan uint64, results chan<- uint64) {
	for n := range jobs {
		results <- n * 2
	}
}

// run starts the pool, runs jobs 0..count, and returns how many results came back.
func run(workers int, count uint64) uint64 {
	jobs := make(chan uint64, buffer)
	results := make(chan uint64, buffer)
	for w := 0; w < workers; w++ {
		go worker(jobs, results)
	}
	go func() {
		for n := uint64(0); n < count; n++ {
			jobs <- n
		}
		close(jobs)
	}()
	var got, sum uint64
	for got < count {
		sum += <-results
		got++
	}
	if sum == 1 {
		// Never true (every result is even); keeps the results from being optimised away.
		fmt.Fprintln(os.Stderr, sum)
	}
	return got
}

// peakKiB reads the process's peak resident memory (VmHWM) on Linux, or "-".
func peakKiB() string {
	file, err := os.Open("/proc/self/status")
	if err != nil {
		return "-"
	}
	defer file.Close()
	lines := bufio.NewScanner(file)
	for lines.Scan() {
		line := lines.Text()
		if strings.HasPrefix(line, "VmHWM:") {
			rest := strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:"))
			return strings.TrimSuffix(rest, " kB")
		}
	}
	return "-"
}

func main() {
	workers := flag.Int("workers", 4, "goroutines taking jobs")
	count := flag.Uint64("jobs", 20000, "trivial jobs per round")
	rounds := flag.Int("rounds", 5, "rounds; the middle one is reported")
	flag.Parse()
	if *workers < 1 || *count < 1 || *rounds < 1 {
		fmt.Println("error -workers, -jobs and -rounds must be at least 1")
		os.Exit(2)
	}
	times := make([]time.Duration, 0, *rounds)
	for round := 0; round <= *rounds; round++ {
		start := time.Now()
		got := run(*workers, *count)
		took := time.Since(start)
		if got != *count {
			fmt.Printf("error only %d of %d jobs ran\n", got, *count)
			os.Exit(1)
		}
		// Round 0 warms up: the runtime starts its threads and grows its heap.
		if round > 0 {
			times = append(times, took)
		}
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	fmt.Printf("ok %d %s\n", times[len(times)/2].Nanoseconds(), peakKiB())
}
