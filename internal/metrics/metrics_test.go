package metrics

import (
	"context"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// A nil *Metrics is metrics turned off: every method does nothing.
func TestNilRecordsNothing(t *testing.T) {
	var m *Metrics
	m.Request("/x", 200, time.Millisecond)
	m.TokenResponse("t", "client_credentials", "")
	m.SignIn("t", SignInSuccess)
	m.RefreshReuse("t")
	m.FamiliesRevoked("logout", 2)
	m.StoreOp("sqlite", "read", time.Millisecond)
	m.StoreRetry("sqlite")
	m.StoreConflict("sqlite")
	m.Collected(3)
	m.PasswordQueue(func() (int, int, int64) { return 0, 1, 0 })
	m.SigningKeyAges(func(context.Context) ([]KeyAge, error) { return nil, nil })
}

func page(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}

// Labels stay bounded whatever clients send, and tenants are a label only
// when asked for.
func TestLabelsBounded(t *testing.T) {
	m := New(Options{Version: "v-test"})
	m.TokenResponse("acme", "urn:example:"+strings.Repeat("x", 100), "unsupported_grant_type")
	m.TokenResponse("acme", "", "invalid_request")
	m.TokenResponse("acme", "refresh_token", "")
	m.Request("", 404, time.Millisecond)
	m.Request("/{tenant}/oauth2/v2.0/token", 503, time.Millisecond)
	m.SigningKeyAges(func(context.Context) ([]KeyAge, error) {
		return []KeyAge{{Tenant: "acme", Age: time.Hour}, {Tenant: "globex", Age: 2 * time.Hour}}, nil
	})
	out := page(t, m)
	for _, want := range []string{
		`tessera_token_responses_total{error="unsupported_grant_type",grant="other"} 1`,
		`tessera_token_responses_total{error="invalid_request",grant="missing"} 1`,
		`tessera_token_responses_total{error="none",grant="refresh_token"} 1`,
		`tessera_http_requests_total{code="4xx",route="unmatched"} 1`,
		`tessera_http_requests_total{code="5xx",route="/{tenant}/oauth2/v2.0/token"} 1`,
		`tessera_signing_key_age_seconds_max 7200`,
		`tessera_build_info{goversion="`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(out, "acme") || strings.Contains(out, "xxxx") {
		t.Errorf("a tenant or a client's grant type became a label:\n%s", out)
	}

	withTenants := New(Options{TenantLabel: true})
	withTenants.SignIn("acme", SignInLocked)
	withTenants.SigningKeyAges(func(context.Context) ([]KeyAge, error) { return []KeyAge{{Tenant: "acme", Age: time.Minute}}, nil })
	out = page(t, withTenants)
	for _, want := range []string{`tessera_signins_total{outcome="locked",tenant="acme"} 1`, `tessera_signing_key_age_seconds{tenant="acme"} 60`} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// The alert rules and the dashboard in deploy/ name only metrics Tessera
// exports, so a renamed metric cannot leave them silently empty.
func TestDeployNamesExportedMetrics(t *testing.T) {
	m := New(Options{})
	m.Request("/", 200, time.Millisecond)
	m.TokenResponse("", "refresh_token", "")
	m.SignIn("", SignInSuccess)
	m.RefreshReuse("")
	m.StoreOp("sqlite", "read", time.Millisecond)
	m.StoreRetry("sqlite")
	m.StoreConflict("sqlite")
	m.Collected(1)
	m.PasswordQueue(func() (int, int, int64) { return 0, 1, 0 })
	m.SigningKeyAges(func(context.Context) ([]KeyAge, error) { return nil, nil })
	exported := page(t, m)
	for _, file := range []string{"../../deploy/prometheus/tessera-alerts.yml", "../../deploy/grafana/tessera-dashboard.json"} {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		names := regexp.MustCompile(`tessera_[a-z_]+`).FindAllString(string(raw), -1)
		if len(names) < 5 {
			t.Fatalf("%s names only %v", file, names)
		}
		for _, name := range names {
			base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_count"), "_sum")
			if !strings.Contains(exported, "# TYPE "+base+" ") {
				t.Errorf("%s names %s, which Tessera does not export", file, name)
			}
		}
	}
}
