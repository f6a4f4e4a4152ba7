package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"runtime"
	"time"

	"github.com/tessera-id/tessera/store"
)

// rotationBatch bounds how many rotations share one commit.
const rotationBatch = 64

// rotation is one RotateRefreshToken call waiting for its commit.
type rotation struct {
	ctx       context.Context
	tenantID  string
	parent    []byte
	successor store.RefreshToken
	now       time.Time
	result    chan error
}

// startRotations starts the group-commit loop, which Close stops.
func (d *sqliteDialect) startRotations(s *Store) {
	d.rotations = make(chan *rotation, rotationBatch)
	d.stop, d.stopped = make(chan struct{}), make(chan struct{})
	go d.rotateLoop(s)
	s.closers = append(s.closers, func() error {
		close(d.stop)
		<-d.stopped
		return nil
	})
}

// rotate is SQLite's refresh rotation, committed before it returns.
//
// Rotations are group-committed: SQLite has one writer and a commit costs
// an fsync (synchronous=FULL), so concurrent rotations queue for the
// writer and the loop below commits all that are waiting in one
// transaction, each in its own savepoint. Every caller still gets its own
// answer, and of concurrent callers of one parent exactly one wins: the
// later ones see the earlier one's spend, in the same transaction or a
// committed one.
func (d *sqliteDialect) rotate(ctx context.Context, _ *Store, tenantID string, parent []byte, successor store.RefreshToken, now time.Time) error {
	r := &rotation{ctx: ctx, tenantID: tenantID, parent: parent, successor: successor, now: now, result: make(chan error, 1)}
	select {
	case d.rotations <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-d.stop:
		return errors.New("store closed")
	}
	select {
	case err := <-r.result:
		return err
	case <-ctx.Done():
		// The rotation may still commit; a retry of the parent then finds
		// it spent and gets the same successor, inside the grace window.
		return ctx.Err()
	}
}

// rotateLoop is the only goroutine that commits rotations.
func (d *sqliteDialect) rotateLoop(s *Store) {
	defer close(d.stopped)
	for {
		var first *rotation
		select {
		case first = <-d.rotations:
		case <-d.stop:
			return
		}
		batch := []*rotation{first}
		// Callers answered by the last commit are about to send their next
		// rotation; yielding once lets them join this batch.
		runtime.Gosched()
	drain:
		for len(batch) < rotationBatch {
			select {
			case r := <-d.rotations:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		results := commitRotations(s, batch)
		for i, r := range batch {
			r.result <- results[i]
		}
	}
}

// sqliteSpendParent is spendParent returning the parent's lineage.
const sqliteSpendParent = spendParent + ` RETURNING family_id, generation`

// commitRotations applies a batch in one transaction. A rotation that
// fails (a parent already spent, a clashing successor) is rolled back to
// its savepoint alone; a failed commit fails them all.
func commitRotations(s *Store, batch []*rotation) []error {
	results := make([]error, len(batch))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Prepared before the transaction takes the writer's only connection.
	for _, q := range []string{sqliteSpendParent, insertToken, `SAVEPOINT rotation`, `ROLLBACK TO rotation`, `RELEASE rotation`} {
		if _, err := s.stmt(ctx, s.w, q); err != nil {
			for i := range results {
				results[i] = err
			}
			return results
		}
	}
	err := s.retryOn(ctx, func() error {
		clear(results)
		tx, err := s.w.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		var missed []string // none: prepared above
		c := conn{s: s, db: s.w, tx: tx, missed: &missed}
		for i, r := range batch {
			if err := r.ctx.Err(); err != nil {
				results[i] = err // nobody waits for it: leave it undone
				continue
			}
			if _, err := c.exec(ctx, `SAVEPOINT rotation`); err != nil {
				_ = tx.Rollback()
				return err
			}
			if err := rotateIn(ctx, c, r); err != nil {
				if _, rerr := c.exec(ctx, `ROLLBACK TO rotation`); rerr != nil {
					_ = tx.Rollback()
					return rerr
				}
				if s.d.classify(err) == errRetry {
					_ = tx.Rollback()
					return err
				}
				results[i] = err
			}
			if _, err := c.exec(ctx, `RELEASE rotation`); err != nil {
				_ = tx.Rollback()
				return err
			}
		}
		return tx.Commit()
	})
	if err != nil {
		for i := range results {
			if results[i] == nil {
				results[i] = err
			}
		}
	}
	return results
}

// rotateIn spends the parent if it is live and inserts its successor,
// taking family, parent and generation from the parent row.
func rotateIn(ctx context.Context, c conn, r *rotation) error {
	var familyID string
	var generation int
	err := c.queryRow(ctx, sqliteSpendParent, r.now, r.tenantID, r.parent).Scan(&familyID, &generation)
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotLive
	}
	if err != nil {
		return err
	}
	succ := r.successor
	succ.TenantID, succ.FamilyID = r.tenantID, familyID
	succ.ParentHash, succ.Generation = r.parent, generation+1
	_, err = c.exec(ctx, insertToken, tokenArgs(succ)...)
	return err
}
