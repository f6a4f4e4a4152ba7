package main

import (
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpReceiver is an OTLP/HTTP trace endpoint: it decodes what the
// exporter sends with the protocol's own protobuf types.
type otlpReceiver struct {
	mu    sync.Mutex
	spans []*tracepb.Span
	bad   []string
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var req coltracepb.ExportTraceServiceRequest
	o.mu.Lock()
	defer o.mu.Unlock()
	if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
		o.bad = append(o.bad, r.URL.Path+" "+r.Header.Get("Content-Type"))
	} else if err := proto.Unmarshal(raw, &req); err != nil {
		o.bad = append(o.bad, err.Error())
	}
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			o.spans = append(o.spans, ss.Spans...)
		}
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	_, _ = w.Write(out)
}

// trace returns the spans received of one trace, by span id.
func (o *otlpReceiver) trace(id []byte) map[string]*tracepb.Span {
	o.mu.Lock()
	defer o.mu.Unlock()
	spans := map[string]*tracepb.Span{}
	for _, s := range o.spans {
		if string(s.TraceId) == string(id) {
			spans[string(s.SpanId)] = s
		}
	}
	return spans
}

// With OTEL_EXPORTER_OTLP_ENDPOINT set, a token request continues the
// caller's W3C trace: the server span is the caller's span's child, the
// grant, store and signature spans hang below it, the response's trace_id
// is the trace's id, and the spans reach the collector over OTLP/HTTP.
func TestTracing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	recv := &otlpReceiver{}
	collector := httptest.NewServer(recv)
	defer collector.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
	t.Setenv("OTEL_SERVICE_NAME", "tessera-under-test")

	dataDir := filepath.Join(t.TempDir(), "tessera-data")
	srv := startServer(t, dataDir)
	if !strings.Contains(srv.stderr.String(), "tracing on") {
		t.Fatalf("no tracing at start:\n%s", srv.stderr)
	}
	out := srv.stdout.String()
	webID, secret := banner(out, "Application (client) ID")[0], banner(out, "Client secret")[0]
	c := trustingClient(t, dataDir)

	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	post := func(body string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("POST", srv.base+"/demo/oauth2/v2.0/token", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("traceparent", "00-"+traceID+"-"+parentID+"-01")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	resp := post("grant_type=client_credentials&client_id=" + webID + "&client_secret=" + url.QueryEscape(secret) + "&scope=" + webID + "%2f.default")
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Request-Id") != traceID {
		t.Fatalf("token: %d, X-Request-Id %q, want the caller's trace id", resp.StatusCode, resp.Header.Get("X-Request-Id"))
	}
	resp = post("grant_type=client_credentials&client_id=" + webID + "&client_secret=wrong&scope=" + webID + "%2f.default")
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(raw), `"trace_id":"`+traceID+`"`) {
		t.Errorf("an error's trace_id is not the trace's: %s", raw)
	}

	want, _ := hex.DecodeString(traceID)
	parent, _ := hex.DecodeString(parentID)
	var spans map[string]*tracepb.Span
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		spans = recv.trace(want)
		if len(spans) >= 5 && hasSpan(spans, "sign") {
			break
		}
	}
	recv.mu.Lock()
	if len(recv.bad) > 0 {
		t.Errorf("the exporter sent what OTLP/HTTP does not: %v", recv.bad)
	}
	recv.mu.Unlock()
	var server *tracepb.Span
	for _, s := range spans {
		if s.Kind == tracepb.Span_SPAN_KIND_SERVER && string(s.ParentSpanId) == string(parent) {
			if server == nil || s.StartTimeUnixNano < server.StartTimeUnixNano {
				server = s
			}
		}
	}
	if server == nil {
		t.Fatalf("no server span continues the caller's span; got %v", names(spans))
	}
	if server.Name != "POST /{tenant}/oauth2/v2.0/token" {
		t.Errorf("server span named %q", server.Name)
	}
	// Each of grant, store and sign descends from that request's span.
	for _, name := range []string{"grant client_credentials", "store.read", "sign"} {
		s := find(spans, name, server)
		if s == nil {
			t.Errorf("no %q span under the request's; spans: %v", name, names(spans))
		}
	}
}

func hasSpan(spans map[string]*tracepb.Span, name string) bool {
	for _, s := range spans {
		if s.Name == name {
			return true
		}
	}
	return false
}

// find returns a span named name that descends from root.
func find(spans map[string]*tracepb.Span, name string, root *tracepb.Span) *tracepb.Span {
	for _, s := range spans {
		if s.Name != name {
			continue
		}
		for p := s; p != nil; p = spans[string(p.ParentSpanId)] {
			if p == root {
				return s
			}
		}
	}
	return nil
}

func names(spans map[string]*tracepb.Span) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}
