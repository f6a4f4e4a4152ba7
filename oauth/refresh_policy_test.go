package oauth

import (
	"testing"
	"time"

	"github.com/tessera-id/tessera/store"
)

func TestDecideRefresh(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	grace := 10 * time.Second
	fam := store.RefreshFamily{ClientID: "c", ExpiresAt: now.Add(24 * time.Hour)}
	live := store.RefreshToken{ExpiresAt: now.Add(time.Hour)}
	for _, tc := range []struct {
		name   string
		tok    store.RefreshToken
		fam    store.RefreshFamily
		client string
		want   refreshAction
	}{
		{"live token rotates", live, fam, "c", refreshRotate},
		{"another client", live, fam, "other", refreshDead},
		{"revoked family", live, withRevoked(fam, now.Add(-time.Minute)), "c", refreshDead},
		{"family past absolute lifetime", live, withFamilyExpiry(fam, now), "c", refreshDead},
		{"idle-expired token", withTokenExpiry(live, now.Add(-time.Second)), fam, "c", refreshDead},
		{"expires exactly now", withTokenExpiry(live, now), fam, "c", refreshDead},
		{"used just now: retry", withUsed(live, now), fam, "c", refreshRetry},
		{"used at the edge of grace: retry", withUsed(live, now.Add(-grace)), fam, "c", refreshRetry},
		{"used after grace: reuse", withUsed(live, now.Add(-grace-time.Millisecond)), fam, "c", refreshReuse},
		{"used long ago: reuse", withUsed(live, now.Add(-time.Hour)), fam, "c", refreshReuse},
		{"used and revoked: dead, not reuse again", withUsed(live, now.Add(-time.Hour)), withRevoked(fam, now), "c", refreshDead},
		{"used, expired, within grace: retry", withTokenExpiry(withUsed(live, now), now.Add(-time.Second)), fam, "c", refreshRetry},
		{"other client within grace: dead", withUsed(live, now), fam, "other", refreshDead},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := decideRefresh(tc.tok, tc.fam, tc.client, now, grace)
			if got.action != tc.want {
				t.Fatalf("action = %v, want %v (%s)", got.action, tc.want, got.reason)
			}
			if (got.action == refreshDead || got.action == refreshReuse) && got.reason == "" {
				t.Error("a refusal must say why")
			}
		})
	}
}

func withRevoked(f store.RefreshFamily, at time.Time) store.RefreshFamily { f.RevokedAt = at; return f }
func withFamilyExpiry(f store.RefreshFamily, at time.Time) store.RefreshFamily {
	f.ExpiresAt = at
	return f
}
func withTokenExpiry(r store.RefreshToken, at time.Time) store.RefreshToken {
	r.ExpiresAt = at
	return r
}
func withUsed(r store.RefreshToken, at time.Time) store.RefreshToken { r.UsedAt = at; return r }

func TestSuccessorExpiry(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	fam := store.RefreshFamily{ExpiresAt: now.Add(10 * 24 * time.Hour)}
	if got := successorExpiry(fam, now, 24*time.Hour); !got.Equal(now.Add(24 * time.Hour)) {
		t.Errorf("idle window: %v", got)
	}
	if got := successorExpiry(fam, now, 30*24*time.Hour); !got.Equal(fam.ExpiresAt) {
		t.Errorf("capped by the family: %v", got)
	}
}
