package main

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tessera-id/tessera/admin"
	"github.com/tessera-id/tessera/internal/testbrowser"
	"github.com/tessera-id/tessera/store"
	"github.com/tessera-id/tessera/store/sqlstore"
)

// runErr executes the CLI in-process like run, with its own time bound,
// and returns standard output and standard error.
func runErr(t *testing.T, within time.Duration, dataDir string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := newRootCommand(streams{in: strings.NewReader(""), out: &out, err: &errOut})
	cmd.SetArgs(append([]string{"--data-dir", dataDir}, args...))
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	err = cmd.ExecuteContext(ctx)
	return out.String(), errOut.String(), err
}

// An admin command pointed at a data directory that does not exist fails,
// naming it, and leaves nothing behind; migrate creates it, and serve
// without --dev does not.
func TestMissingDataDir(t *testing.T) {
	unsetEnv(t, "TESSERA_STORE")
	unsetEnv(t, "TESSERA_MASTER_KEY")
	parent := filepath.Join(t.TempDir(), "nonexistent")
	dir := filepath.Join(parent, "x")
	for _, args := range [][]string{
		{"tenant", "list"},
		{"tenant", "create", "contoso"},
		{"app", "list", "--tenant", "contoso"},
		{"app", "register", "--tenant", "contoso", "--name", "web"},
		{"app", "secret", "add", "--tenant", "contoso", "--app", "web"},
		{"user", "list", "--tenant", "contoso"},
		{"user", "disable", "--tenant", "contoso", "alice"},
		{"keys", "rotate", "--tenant", "contoso"},
		{"serve", "--http", "--addr", "127.0.0.1:0"},
	} {
		_, _, err := runErr(t, 30*time.Second, dir, args...)
		if err == nil || !strings.Contains(err.Error(), "data directory "+dir+" does not exist") || !strings.Contains(err.Error(), "tessera migrate") {
			t.Errorf("tessera %s: %v; want the missing directory named", strings.Join(args, " "), err)
		}
		if _, err := os.Stat(parent); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("tessera %s created %s (%v)", strings.Join(args, " "), parent, err)
		}
	}
	if _, _, err := runErr(t, 30*time.Second, dir, "migrate"); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if out, _, err := runErr(t, 30*time.Second, dir, "tenant", "list"); err != nil || !strings.Contains(out, "NAME") {
		t.Fatalf("tenant list after migrate: %v\n%s", err, out)
	}
}

// With PostgreSQL and the master key in the environment nothing lives in
// the data directory, so none is needed, and none is made.
func TestMissingDataDirPostgres(t *testing.T) {
	dsn, schema := pgSchema(t)
	t.Setenv("TESSERA_STORE", dsn)
	t.Setenv("TESSERA_PG_SCHEMA", schema)
	t.Setenv("TESSERA_MASTER_KEY", newMasterKey())
	dir := filepath.Join(t.TempDir(), "nonexistent")
	if _, _, err := runErr(t, 30*time.Second, dir, "tenant", "create", "contoso"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the data directory was made although nothing needs it (%v)", err)
	}
	// The key from a file does need it.
	unsetEnv(t, "TESSERA_MASTER_KEY")
	if _, _, err := runErr(t, 30*time.Second, dir, "tenant", "list"); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("tenant list with the key file in a missing directory: %v", err)
	}
}

// corruptDatabase writes users into the data directory's database until
// it spans a few dozen pages, then overwrites the last pages (the users',
// written after the schema) with bytes that are no b-tree page.
func corruptDatabase(t *testing.T, dataDir string) string {
	t.Helper()
	ctx := t.Context()
	path := filepath.Join(dataDir, databaseFile)
	s, err := sqlstore.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateTenant(ctx, store.Tenant{ID: "t1", Name: "contoso", SigningAlg: "RS256", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	for i := range 400 {
		if err := s.CreateUser(ctx, store.User{ID: fmt.Sprintf("u%04d", i), TenantID: "t1", Username: fmt.Sprintf("user%04d", i),
			Name: strings.Repeat("n", 80), PasswordHash: strings.Repeat("h", 97), CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil { // checkpoints the WAL into the file
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pageSize := int(binary.BigEndian.Uint16(raw[16:18]))
	if pageSize == 1 {
		pageSize = 65536
	}
	pages := len(raw) / pageSize
	if pages < 20 {
		t.Fatalf("only %d pages written", pages)
	}
	for p := pages - 8; p < pages; p++ {
		copy(raw[p*pageSize:(p+1)*pageSize], bytes.Repeat([]byte{0xa5}, pageSize))
	}
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// serve refuses a damaged SQLite file at start, naming it and saying to
// restore a backup, instead of serving and failing requests later.
func TestServeRefusesCorruptDatabase(t *testing.T) {
	unsetEnv(t, "TESSERA_STORE")
	unsetEnv(t, "TESSERA_MASTER_KEY")
	dir := t.TempDir()
	if _, _, err := runErr(t, 30*time.Second, dir, "migrate"); err != nil {
		t.Fatal(err)
	}
	path := corruptDatabase(t, dir)
	start := time.Now()
	_, _, err := runErr(t, 15*time.Second, dir, "serve", "--http", "--addr", "127.0.0.1:0")
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "corrupt") || !strings.Contains(err.Error(), "backup") {
		t.Fatalf("serve on a corrupt database returned after %s: %v; want a refusal naming %s and a backup", time.Since(start).Round(time.Millisecond), err, path)
	}
	if !errors.Is(err, sqlstore.ErrCorrupt) {
		t.Errorf("error %v is not sqlstore.ErrCorrupt", err)
	}
}

// The banner prints the refresh command after the code-redeeming one, and
// both carry the demo app's id and secret.
func TestDemoBannerRefreshCommand(t *testing.T) {
	var out bytes.Buffer
	d := admin.Demo{Tenant: store.Tenant{ID: "tid", Name: "demo"}, WebApp: store.App{ClientID: "web-id", Name: "Demo web app"},
		NativeApp: store.App{ClientID: "native-id", RedirectURIs: []string{"http://localhost"}}, User: store.User{Username: "demo"},
		Secret: "the-secret", Password: "pw"}
	printDemo(&out, "tessera-data", "https://localhost:8443", d)
	banner := out.String()
	code := strings.Index(banner, "grant_type=authorization_code")
	refresh := strings.Index(banner, "grant_type=refresh_token")
	if code < 0 || refresh < code {
		t.Fatalf("the banner lacks the refresh command after the code's:\n%s", banner)
	}
	line := refreshBody(banner)
	if line == "" || !strings.Contains(line, "client_id=web-id") || !strings.Contains(line, "client_secret=the-secret") || !strings.Contains(line, "refresh_token=PASTE_REFRESH_TOKEN") {
		t.Errorf("refresh command body %q", line)
	}
	lines := strings.Split(banner, "\n")
	i := slices.IndexFunc(lines, func(l string) bool { return strings.Contains(l, "grant_type=refresh_token") })
	if i < 1 || i+1 >= len(lines) || !strings.Contains(lines[i-1], "curl --cacert tessera-data/ca.pem -X POST") ||
		strings.TrimSpace(lines[i+1]) != "'https://localhost:8443/demo/oauth2/v2.0/token'" {
		t.Errorf("refresh command lacks the CA or the token endpoint:\n%s", banner[code:])
	}
}

// refreshBody is the -d body of the banner's refresh command.
func refreshBody(banner string) string {
	for _, line := range strings.Split(banner, "\n") {
		if strings.Contains(line, "grant_type=refresh_token") {
			if _, rest, ok := strings.Cut(line, "-d '"); ok {
				body, _, _ := strings.Cut(rest, "'")
				return body
			}
		}
	}
	return ""
}

// A mistyped subcommand at any depth fails with cobra's suggestion, as at
// the root, rather than printing the help and succeeding.
func TestUnknownSubcommand(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ args, name, parent, suggestion string }{
		{"app registr", "registr", "tessera app", "register"},
		{"app secret ad", "ad", "tessera app secret", "add"},
		{"token refrsh", "refrsh", "tessera token", "refresh"},
		{"tenent list", "tenent", "tessera", "tenant"},
	} {
		_, _, err := runErr(t, 30*time.Second, dir, strings.Fields(tc.args)...)
		want := fmt.Sprintf("unknown command %q for %q", tc.name, tc.parent)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "Did you mean this?\n\t"+tc.suggestion+"\n") {
			t.Errorf("tessera %s: %v; want %s and the suggestion %s", tc.args, err, want, tc.suggestion)
		}
	}
	// A group alone still shows its help.
	out, _, err := runErr(t, 30*time.Second, dir, "app")
	if err != nil || !strings.Contains(out, "Available Commands") {
		t.Errorf("tessera app: %v\n%s", err, out)
	}
}

// describeBuild names the version and, when the build recorded it, the
// revision, its time and whether the tree was modified.
func TestDescribeBuild(t *testing.T) {
	info := func(settings ...string) *debug.BuildInfo {
		bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/tessera-id/tessera", Version: "v0.0.0-20260101120000-abcdef123456+dirty"}}
		for i := 0; i < len(settings); i += 2 {
			bi.Settings = append(bi.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
		}
		return bi
	}
	for _, tc := range []struct {
		info *debug.BuildInfo
		want string
	}{
		{info("vcs", "git", "vcs.revision", "abcdef1234567890", "vcs.time", "2026-01-01T12:00:00Z", "vcs.modified", "true"),
			"v0.0.0-20260101120000-abcdef123456+dirty (revision abcdef1234567890, 2026-01-01T12:00:00Z, modified), go1.26.8"},
		{info("vcs.revision", "abcdef1234567890", "vcs.modified", "false"),
			"v0.0.0-20260101120000-abcdef123456+dirty (revision abcdef1234567890), go1.26.8"},
		{info(), "v0.0.0-20260101120000-abcdef123456+dirty (no VCS revision recorded: built with -buildvcs=false or outside a checkout), go1.26.8"},
	} {
		if got := describeBuild(tc.info); got != tc.want {
			t.Errorf("describeBuild = %q, want %q", got, tc.want)
		}
	}
}

// `tessera version` and `tessera --version` print what the binary's build
// information says; a mistyped subcommand exits non-zero.
func TestVersionBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	check := func(t *testing.T, bin string) *debug.BuildInfo {
		t.Helper()
		info, err := buildinfo.ReadFile(bin)
		if err != nil {
			t.Fatal(err)
		}
		want := "tessera " + describeBuild(info) + "\n"
		for _, args := range [][]string{{"version"}, {"--version"}} {
			out, err := exec.Command(bin, args...).Output()
			if err != nil || string(out) != want {
				t.Errorf("tessera %s: %v %q, want %q", args[0], err, out, want)
			}
		}
		return info
	}
	bin := tesseraBinary(t)
	check(t, bin)

	cmd := exec.Command(bin, "app", "registr")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 0 || !strings.Contains(stderr.String(), "Did you mean this?\n\tregister") {
		t.Errorf("tessera app registr: %v\n%s", err, stderr.String())
	}

	t.Run("stamped", func(t *testing.T) {
		// Go stamps the revision only in a checkout whose .git is a
		// directory (not a worktree's file), and only with -buildvcs on.
		head, err := exec.Command("git", "rev-parse", "HEAD").Output()
		top, terr := exec.Command("git", "rev-parse", "--show-toplevel").Output()
		if err != nil || terr != nil {
			t.Skip("not a git checkout")
		}
		if fi, err := os.Stat(filepath.Join(strings.TrimSpace(string(top)), ".git")); err != nil || !fi.IsDir() {
			t.Skip("a git worktree: Go records no revision there")
		}
		stamped := filepath.Join(t.TempDir(), "tessera")
		if out, err := exec.Command("go", "build", "-buildvcs=true", "-o", stamped, ".").CombinedOutput(); err != nil {
			t.Fatalf("go build -buildvcs=true: %v\n%s", err, out)
		}
		info := check(t, stamped)
		rev := strings.TrimSpace(string(head))
		i := slices.IndexFunc(info.Settings, func(s debug.BuildSetting) bool { return s.Key == "vcs.revision" })
		if i < 0 || info.Settings[i].Value != rev {
			t.Fatalf("build settings %v lack revision %s", info.Settings, rev)
		}
		out, _ := exec.Command(stamped, "version").Output()
		if !strings.Contains(string(out), "revision "+rev) {
			t.Errorf("tessera version = %q, want revision %s", out, rev)
		}
	})
}

// withoutEnv returns env without the variable name.
func withoutEnv(env []string, name string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool { return strings.HasPrefix(kv, name+"=") })
}

// `tessera login --ca-file` (relative, as in the README) remembers the CA
// with the authority, so `tessera token` works right after it from any
// directory; `tessera accounts` and `tessera logout` then work from the
// cache with the server gone.
func TestLoginRemembersCAFile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	work := t.TempDir()
	dataDir := filepath.Join(work, "tessera-data")
	srv := startServer(t, dataDir)
	out := srv.stdout.String()
	ids := banner(out, "Application (client) ID")
	pw := banner(out, "Password")[0]
	webID, nativeID := ids[0], ids[1]
	scope := "api://" + webID + "/access_as_user"
	env, _ := clientEnv(t, dataDir)
	env = withoutEnv(env, "TESSERA_CA_FILE")

	b := testbrowser.New(t, trustingClient(t, dataDir))
	stderr := runLoginIn(t, work, env, []string{"--authority", srv.base + "/demo", "--client-id", nativeID, "--scopes", scope,
		"--ca-file", "tessera-data/ca.pem"}, func(line string) bool {
		m := urlLine.FindStringSubmatch(line)
		if m == nil {
			return false
		}
		o := b.SignIn(m[1], "demo", pw)
		resp, err := http.Get(o.Callback.String())
		if err != nil {
			t.Errorf("deliver the redirect: %v", err)
			return true
		}
		resp.Body.Close()
		return true
	})
	if !strings.Contains(stderr, "Signed in as demo") {
		t.Fatalf("login output:\n%s", stderr)
	}
	// From another directory, with no CA flag or variable; forced to the
	// server, so that the CA is used.
	tok, err := tessera(t, env, "", "token", "--scopes", scope, "--force-refresh")
	if err != nil || strings.Count(tok, ".") != 2 {
		t.Fatalf("tessera token after a login with --ca-file: %v %q", err, tok)
	}

	// The server goes away: its port is closed.
	if err := srv.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("stop the server: %v", err)
	}
	if resp, err := trustingClient(t, dataDir).Get(srv.base + "/demo/v2.0/.well-known/openid-configuration"); err == nil {
		resp.Body.Close()
		t.Fatal("the server still answers")
	}
	accounts, err := tessera(t, env, "", "accounts", "--output", "json")
	var list []map[string]any
	if err != nil || json.Unmarshal([]byte(accounts), &list) != nil || len(list) != 1 || list[0]["username"] != "demo" {
		t.Fatalf("tessera accounts with the server down: %v %s", err, accounts)
	}
	logout := exec.Command(tesseraBinary(t), "logout", "--account", "demo")
	logout.Env = env
	if b, err := logout.CombinedOutput(); err != nil || !strings.Contains(string(b), "Signed out demo") {
		t.Fatalf("tessera logout with the server down: %v %s", err, b)
	}
	if accounts, err := tessera(t, env, "", "accounts", "--output", "json"); err != nil || strings.TrimSpace(accounts) != "[]" {
		t.Errorf("tessera accounts after logout: %v %s", err, accounts)
	}
}

// `tessera bench`, from before the load generator became a binary of its
// own, fails as an unknown command does, whatever follows it, and says
// where the generator went.
func TestBenchIsNotAServerCommand(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{{"bench"}, {"bench", "--json", "--scenario", "jwks"}, {"bench", "report", "x.json"}} {
		out, _, err := runErr(t, 30*time.Second, dir, args...)
		if err == nil || !strings.Contains(err.Error(), `unknown command "bench" for "tessera"`) || !strings.Contains(err.Error(), "tessera-bench") {
			t.Errorf("tessera %s: %v; want an unknown command that names tessera-bench", strings.Join(args, " "), err)
		}
		if out != "" {
			t.Errorf("tessera %s printed %q", strings.Join(args, " "), out)
		}
	}
	// Nor does the help list it.
	out, _, err := runErr(t, 30*time.Second, dir, "--help")
	if err != nil || strings.Contains(out, "bench") {
		t.Errorf("tessera --help: %v\n%s", err, out)
	}
}
