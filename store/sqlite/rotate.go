package sqlite

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

// RotateRefreshToken implements store.Store: the conditional spend of the
// parent and the insert of its successor, committed before it returns.
//
// Rotations are group-committed: SQLite has one writer and a commit costs
// an fsync (synchronous=FULL), so concurrent rotations queue for the
// writer and the loop below commits all that are waiting in one
// transaction, each in its own savepoint. Every caller still gets its own
// answer, and of concurrent callers of one parent exactly one wins: the
// later ones see the earlier one's spend, in the same transaction or a
// committed one.
func (s *Store) RotateRefreshToken(ctx context.Context, tenantID string, parentHash []byte, successor store.RefreshToken, now time.Time) error {
	r := &rotation{ctx: ctx, tenantID: tenantID, parent: parentHash, successor: successor, now: now, result: make(chan error, 1)}
	select {
	case s.rotations <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.stop:
		return errors.New("sqlite: rotate refresh token: store closed")
	}
	select {
	case err := <-r.result:
		return wrap("rotate refresh token", err)
	case <-ctx.Done():
		// The rotation may still commit; a retry of the parent then finds
		// it spent and gets the same successor, inside the grace window.
		return ctx.Err()
	}
}

// rotateLoop is the only goroutine that commits rotations.
func (s *Store) rotateLoop() {
	defer close(s.stopped)
	for {
		var first *rotation
		select {
		case first = <-s.rotations:
		case <-s.stop:
			return
		}
		batch := []*rotation{first}
		// Callers answered by the last commit are about to send their next
		// rotation; yielding once lets them join this batch.
		runtime.Gosched()
	drain:
		for len(batch) < rotationBatch {
			select {
			case r := <-s.rotations:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		results := s.commitRotations(batch)
		for i, r := range batch {
			r.result <- results[i]
		}
	}
}

// commitRotations applies a batch in one transaction. A rotation that
// fails (a parent already spent, a clashing successor) is rolled back to
// its savepoint alone; a failed commit fails them all.
func (s *Store) commitRotations(batch []*rotation) []error {
	results := make([]error, len(batch))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Prepared before the transaction takes the writer's only connection.
	spend, err := s.stmt(ctx, s.w, spendParent)
	var insert *sql.Stmt
	if err == nil {
		insert, err = s.stmt(ctx, s.w, insertToken)
	}
	if err != nil {
		for i := range results {
			results[i] = err
		}
		return results
	}
	err = retry(ctx, func() error {
		clear(results)
		tx, err := s.w.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		for i, r := range batch {
			if err := r.ctx.Err(); err != nil {
				results[i] = err // nobody waits for it: leave it undone
				continue
			}
			if _, err := tx.ExecContext(ctx, `SAVEPOINT rotation`); err != nil {
				_ = tx.Rollback()
				return err
			}
			if err := rotateIn(ctx, tx, spend, insert, r); err != nil {
				if _, rerr := tx.ExecContext(ctx, `ROLLBACK TO rotation`); rerr != nil {
					_ = tx.Rollback()
					return rerr
				}
				if isBusy(err) {
					_ = tx.Rollback()
					return err
				}
				results[i] = err
			}
			if _, err := tx.ExecContext(ctx, `RELEASE rotation`); err != nil {
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

// spendParent marks a live parent used and returns its lineage. The spent
// parent is kept until its family ends, not just until its own idle
// expiry, so that a reuse at any time while the family lives is still
// recognised as a reuse and revokes the family, rather than found unknown
// once collected.
const spendParent = `UPDATE refresh_tokens SET used_at = ?1,
			expires_at = max(expires_at, (SELECT f.expires_at FROM refresh_families f
				WHERE f.tenant_id = refresh_tokens.tenant_id AND f.id = refresh_tokens.family_id))
		WHERE tenant_id = ?2 AND hash = ?3 AND used_at IS NULL AND expires_at > ?1
		AND EXISTS (SELECT 1 FROM refresh_families f
			WHERE f.tenant_id = refresh_tokens.tenant_id AND f.id = refresh_tokens.family_id
			AND f.revoked_at IS NULL AND f.expires_at > ?1)
		RETURNING family_id, generation`

// rotateIn spends the parent if it is live and inserts its successor,
// taking family, parent and generation from the parent row.
func rotateIn(ctx context.Context, tx *sql.Tx, spend, insert *sql.Stmt, r *rotation) error {
	var familyID string
	var generation int
	err := tx.StmtContext(ctx, spend).QueryRowContext(ctx, r.now.UnixMilli(), r.tenantID, r.parent).Scan(&familyID, &generation)
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotLive
	}
	if err != nil {
		return err
	}
	succ := r.successor
	succ.TenantID, succ.FamilyID = r.tenantID, familyID
	succ.ParentHash, succ.Generation = r.parent, generation+1
	_, err = tx.StmtContext(ctx, insert).ExecContext(ctx, tokenArgs(succ)...)
	return err
}
