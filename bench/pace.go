package bench

import (
	"context"
	"time"
)

// rateTolerance is how far below the asked rate a run may send and still
// count as having held it: latency read "at half load" means nothing if
// the generator quietly sent a quarter less.
const rateTolerance = 0.02

// pace is the open loop of a run with a rate: request i of the slice is
// due at start + i/rate, one schedule for all workers, and each due
// request is a ticket on out, which is unbuffered so that a ticket only
// ever goes to an idle worker. It stops at end (a zero end: none), after
// limit tickets (0: no limit) or when ctx is done, and closes out. It
// returns how many tickets workers took.
//
// It never sleeps while behind. The pacer it replaces, a time.Ticker that
// workers took turns on, dropped every tick that came while no worker
// waited (the channel holds one), and Go's timers fire up to a
// millisecond late when the process idles: at ES256 speeds, a tick every
// 134 to 157 µs, runs asked 6,389/s and 7,470/s and sent 4,851/s and
// 5,418/s. Here a late wake-up, or a moment with every worker busy, leaves
// requests due, and they go out at once to whichever workers are free
// until the schedule is caught up: lateness does not accumulate. Only a
// generator that cannot catch up at all (too few workers for the server's
// latency, or a saturated server) sends less, and the caller reports it.
func pace(ctx context.Context, out chan<- struct{}, start, end time.Time, rate float64, limit int64) (sent int64) {
	defer close(out)
	interval := float64(time.Second) / rate
	wake := time.NewTimer(time.Hour)
	defer wake.Stop()
	for i := int64(0); limit <= 0 || i < limit; i++ {
		// From the start each time, not by adding intervals: rounding
		// does not drift.
		due := start.Add(time.Duration(float64(i) * interval))
		last := !end.IsZero() && !due.Before(end)
		if last {
			// The schedule is done, but the slice lasts until its end:
			// closing out now would end the slice early and overstate
			// its requests per second.
			due = end
		}
		if d := time.Until(due); d > 0 {
			wake.Reset(d)
			select {
			case <-wake.C:
			case <-ctx.Done():
				return sent
			}
		}
		if last {
			return sent
		}
		select {
		case out <- struct{}{}:
			sent++
		case <-ctx.Done():
			return sent
		}
	}
	return sent
}
