// Package container builds the repository's Docker image and gets a token
// through a container of it, as docs/operations.md tells an operator to
// run it: JSON logs, a data volume the nonroot user writes, a HEALTHCHECK
// on /readyz.
package container

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// docker runs the docker CLI and returns its standard output.
func docker(ctx context.Context, args ...string) (string, error) {
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("docker %s: %w\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return strings.TrimSpace(out.String()), nil
}

// skipOrFail skips the test with reason, or fails it when CI said Docker
// works (TESSERA_REQUIRE_DOCKER=1).
func skipOrFail(t *testing.T, reason string) {
	t.Helper()
	if os.Getenv("TESSERA_REQUIRE_DOCKER") == "1" {
		t.Fatal(reason)
	}
	t.Skip(reason)
}

// registryTrouble reports whether a failed build failed for want of the
// base images' registry rather than for the Dockerfile's sake.
func registryTrouble(msg string) bool {
	for _, s := range []string{"failed to resolve source metadata", "failed to do request", "dial tcp", "no such host",
		"TLS handshake timeout", "i/o timeout", "pull access denied", "toomanyrequests", "failed to fetch", "connection refused"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

func TestImageServesTokens(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Docker image")
	}
	if _, err := exec.LookPath("docker"); err != nil {
		skipOrFail(t, "no docker CLI: the container test needs a Docker daemon")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	if _, err := docker(ctx, "info", "--format", "{{.ServerVersion}}"); err != nil {
		skipOrFail(t, "no Docker daemon answers, so the image is not built: "+lastLines(err.Error(), 1))
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	image := fmt.Sprintf("tessera-test:%d", time.Now().UnixNano())
	if _, err := docker(ctx, "build", "-t", image, root); err != nil {
		if registryTrouble(err.Error()) {
			// Only a missing registry, not the Dockerfile, may skip.
			t.Skip("the base images cannot be pulled (no registry access): " + lastLines(err.Error(), 3))
		}
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = docker(context.Background(), "rmi", "-f", image) })
	volume := strings.ReplaceAll(strings.TrimPrefix(image, "tessera-test:"), ":", "-")
	volume = "tessera-test-data-" + volume
	t.Cleanup(func() { _, _ = docker(context.Background(), "volume", "rm", "-f", volume) })
	id, err := docker(ctx, "run", "-d", "-p", "127.0.0.1::8443", "-v", volume+":/data", image)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			logs, _ := exec.Command("docker", "logs", id).CombinedOutput()
			t.Logf("container log:\n%s", logs)
		}
		_, _ = docker(context.Background(), "rm", "-f", id)
	})
	port, err := docker(ctx, "port", id, "8443/tcp")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + strings.TrimSpace(strings.Split(port, "\n")[0])

	// The HEALTHCHECK (tessera healthcheck on /readyz) turns healthy.
	deadline := time.Now().Add(90 * time.Second)
	for {
		health, err := docker(ctx, "inspect", "--format", "{{.State.Health.Status}}", id)
		if err != nil {
			t.Fatal(err)
		}
		if health == "healthy" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the container's health is %q after 90 s", health)
		}
		time.Sleep(time.Second)
	}

	// An operator sets up a tenant and an app with the admin CLI inside
	// the container, on the volume the server writes.
	admin := func(args ...string) map[string]any {
		t.Helper()
		out, err := docker(ctx, append([]string{"exec", id, "tessera", "--output", "json"}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("tessera %v: %v\n%s", args, err, out)
		}
		return m
	}
	admin("tenant", "create", "contoso")
	app := admin("app", "register", "--tenant", "contoso", "--name", "daemon")
	clientID := app["client_id"].(string)
	secret := admin("app", "secret", "add", "--tenant", "contoso", "--app", clientID, "--description", "container test")["secret"].(string)
	resp, err := http.PostForm(base+"/contoso/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {clientID}, "client_secret": {secret}, "scope": {clientID + "/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	var tok map[string]any
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || tok["access_token"] == nil {
		t.Fatalf("token through the container: %d %v %v", resp.StatusCode, tok, err)
	}

	// Its log is JSON lines, the request line among them, without the
	// secret.
	// The server logs to standard error.
	raw, err := exec.CommandContext(ctx, "docker", "logs", id).CombinedOutput()
	if err != nil {
		t.Fatalf("docker logs: %v\n%s", err, raw)
	}
	logs := string(raw)
	if strings.Contains(logs, secret) {
		t.Error("the container's log holds the client secret")
	}
	var sawRequest bool
	for _, line := range strings.Split(logs, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("a log line is not JSON: %s", line)
			continue
		}
		sawRequest = sawRequest || (m["msg"] == "request" && m["grant_type"] == "client_credentials")
	}
	if !sawRequest {
		t.Errorf("no request line for the token request in:\n%s", logs)
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// The image's build context leaves out data directories, keys, backups and
// git history, and its HEALTHCHECK runs the binary's own check on the
// address the image serves: no daemon needed to check that much.
func TestImageFiles(t *testing.T) {
	ignore, err := os.ReadFile(filepath.Join("..", "..", ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	patterns := map[string]bool{}
	for _, line := range strings.Split(string(ignore), "\n") {
		patterns[strings.TrimSpace(line)] = true
	}
	for _, p := range []string{".git", "tessera-data/", "**/tessera-data/", "*.key", "**/*.key", "*.db", "node_modules/", "test-artifacts/"} {
		if !patterns[p] {
			t.Errorf(".dockerignore lacks %s", p)
		}
	}
	df, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`HEALTHCHECK`, `"healthcheck"`, `TESSERA_HEALTHCHECK_URL=http://127.0.0.1:8443/readyz`,
		`"--addr", "0.0.0.0:8443"`, `--chown=65532:65532`, `TESSERA_LOG_FORMAT=json`, `VOLUME /data`} {
		if !bytes.Contains(df, []byte(want)) {
			t.Errorf("Dockerfile lacks %s", want)
		}
	}
}
