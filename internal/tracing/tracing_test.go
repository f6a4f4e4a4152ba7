package tracing

import (
	"context"
	"testing"
)

// With tracing off (no request span in the context) a step of the token
// path allocates nothing.
func TestStartWithoutTraceAllocatesNothing(t *testing.T) {
	ctx := context.Background()
	engine := "sqlite"
	allocs := testing.AllocsPerRun(1000, func() {
		_, end := StartAttr(ctx, "store.read", "db.system.name", engine)
		end()
	})
	if allocs != 0 {
		t.Errorf("Start without a trace allocates %v times", allocs)
	}
}

func TestEnabled(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want bool
	}{
		{map[string]string{}, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, true},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, true},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"}, false},
	} {
		if got := Enabled(func(k string) string { return c.env[k] }); got != c.want {
			t.Errorf("Enabled(%v) = %v, want %v", c.env, got, c.want)
		}
	}
}
