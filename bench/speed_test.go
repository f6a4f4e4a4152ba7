package bench

import (
	"testing"
	"time"
)

func TestSplitBySpeedUsesTheSamplesOnBothSidesOfEachSlice(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	tl := &tally{perSlice: [][]time.Duration{ms(1, 2), ms(3, 40), ms(2, 2), ms(50)}}
	// Floor samples around the four slices, mean 100: slice 0 sits between
	// 120 and 110 (fast), slice 1 between 110 and 60 (slow), slice 2
	// between 60 and 100 (slow: one side below the mean), slice 3 between
	// 100 and 110 (fast).
	split := tl.splitBySpeed([]float64{120, 110, 60, 100, 110}, 100)
	if split == nil {
		t.Fatal("no split")
	}
	if split.FastSlices != 2 || split.SlowSlices != 2 {
		t.Fatalf("fast %d, slow %d slices; want 2 and 2", split.FastSlices, split.SlowSlices)
	}
	if split.Fast.Max != 50 || split.Fast.P50 != 2 {
		t.Errorf("fast latencies %+v: want those of slices 0 and 3 (1, 2, 50 ms)", split.Fast)
	}
	if split.Slow.Max != 40 || split.Slow.P50 != 2 {
		t.Errorf("slow latencies %+v: want those of slices 1 and 2 (2, 2, 3, 40 ms)", split.Slow)
	}
	if tl.splitBySpeed([]float64{120, 110}, 100) != nil {
		t.Error("split without a sample on both sides of every slice")
	}
}
