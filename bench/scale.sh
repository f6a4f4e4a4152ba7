#!/usr/bin/env bash
# Measures Tessera at a realistic size: the same scenarios on an empty store
# and on one seeded (tessera-bench seed) with 1,000 tenants, 10,000 apps, a
# million users and a million live refresh families, start-up on the seeded
# store, and the token endpoint's latency while the collector sweeps a
# million expired families. Results are kept as JSON under
# bench/results/scale/<store>/ and docs/scale-<store>.md is generated from
# them.
#
#   ./bench/scale.sh                  # SQLite; about 25 minutes on 2 cores, 18 of them seeding
#   STORE=postgres ./bench/scale.sh   # PostgreSQL (TESSERA_TEST_POSTGRES)
#   USERS=100000 ./bench/scale.sh     # a smaller store, for a try
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${DURATION:-10s}"
STORE="${STORE:-sqlite}"
USERS="${USERS:-1000000}"
FAMILIES="${FAMILIES:-$USERS}"
EXPIRED="${EXPIRED:-$USERS}"
TENANTS="${TENANTS:-1000}"
APPS="${APPS:-10000}"
out="bench/results/scale/$STORE"
rm -rf "$out"; mkdir -p "$out"
rm -f bench/results/all_run.txt # the report no longer shows one run alone (bench/all.sh)
port=18700; dbg=18701
. bench/lib.sh
seed_flags=(--data-dir "$data")
if [ "$STORE" = postgres ]; then
  : "${TESSERA_TEST_POSTGRES:?STORE=postgres needs TESSERA_TEST_POSTGRES}"
  schema="tessera_scale_$$"
  # One master key for serve and seed, as several instances share one.
  export TESSERA_MASTER_KEY
  TESSERA_MASTER_KEY=$(head -c 32 /dev/urandom | base64)
  store_flags=(--store "$TESSERA_TEST_POSTGRES" --pg-schema "$schema")
  seed_flags=(--store "$TESSERA_TEST_POSTGRES" --pg-schema "$schema")
  trap 'kill $(jobs -p) 2>/dev/null || true; psql "$TESSERA_TEST_POSTGRES" -qc "DROP SCHEMA IF EXISTS $schema CASCADE" -c "DROP SCHEMA IF EXISTS ${schema}_empty CASCADE" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
fi

bench() { # name label args...
  local name=$1 label=$2; shift 2
  echo "== $name ($label)" >&2
  "$B" --json --ca-file "$data/ca.pem" --duration "$DURATION" --store "$label" --server-debug "http://127.0.0.1:$dbg" "$@" >"$out/$name.json"
  summarize "$out/$name.json"
}

start_server
WEB=$(field "Application (client) ID" 1); NAT=$(field "Application (client) ID" 2)
export TESSERA_BENCH_SECRET=$(field "Client secret") TESSERA_BENCH_PASSWORD=$(field "Password:")
A="https://localhost:$port/demo"
API="api://$WEB/access_as_user"
stop_server
start_server
scenarios() { # label suffix
  wait_idle
  # The same profile of client credentials, where the seeded store should
  # change nothing: every read is the directory cache's.
  (sleep 2; curl -s "http://127.0.0.1:$dbg/debug/pprof/profile?seconds=5" -o "$work/client_credentials$2.pprof") &
  local ccprof=$!
  bench "client_credentials$2" "$1" --scenario client_credentials --authority "$A" --client-id "$WEB"
  # A CPU profile of the server while refreshes run, empty against seeded.
  (sleep 2; curl -s "http://127.0.0.1:$dbg/debug/pprof/profile?seconds=5" -o "$work/refresh_token$2.pprof") &
  local rtprof=$!
  bench "refresh_token$2" "$1" --scenario refresh_token --authority "$A" --user-client-id "$NAT" \
    --redirect-uri http://localhost:3000/redirect --username demo --scope "$API openid offline_access"
  wait "$ccprof" "$rtprof"
  go tool pprof -top -cum "$work/client_credentials$2.pprof" 2>/dev/null | head -40 >"$out/client_credentials$2-profile.txt" || true
  go tool pprof -top -cum "$work/refresh_token$2.pprof" 2>/dev/null | head -40 >"$out/refresh_token$2-profile.txt" || true
  bench "login$2" "$1" --scenario login --concurrency 8 --authority "$A" --user-client-id "$NAT" \
    --redirect-uri http://localhost:3000/redirect --username demo --scope "openid offline_access"
}
scenarios "$STORE, empty" ""
stop_server
# Peak memory under 64 sign-ins at once, on a fresh process: argon2id
# takes 7 MiB a check, and the checks run as many at once as a budget
# holds, not as many as arrive.
start_server
bench login-64 "$STORE, empty, 64 at once" --scenario login --concurrency 64 --authority "$A" --user-client-id "$NAT" \
  --redirect-uri http://localhost:3000/redirect --username demo --scope "openid offline_access"
grep VmHWM "/proc/$server/status" | awk '{print $2}' >"$out/login64_vmhwm_kib.txt"
stop_server
# A copy of the empty store, for the side-by-side run at the end: both
# stores hold the same credentials.
cp -a "$data" "$work/empty"
empty_store_flags=()
if [ "$STORE" = postgres ]; then
  pg_dump --schema="$schema" --no-owner "$TESSERA_TEST_POSTGRES" | sed "s/\b$schema\b/${schema}_empty/g" |
    psql -q -v ON_ERROR_STOP=1 "$TESSERA_TEST_POSTGRES" >/dev/null
  empty_store_flags=(--store "$TESSERA_TEST_POSTGRES" --pg-schema "${schema}_empty")
fi

echo "== seeding $TENANTS tenants, $APPS apps, $USERS users, $FAMILIES live and $EXPIRED expired families" >&2
t0=$(date +%s)
"$B" seed "${seed_flags[@]}" --tenants "$TENANTS" --apps "$APPS" --users "$USERS" --families "$FAMILIES" --expired "$EXPIRED" >"$out/seed.txt"
echo "$(( $(date +%s) - t0 ))" >"$out/seed_seconds.txt"
if [ "$STORE" = postgres ]; then
  # A store that grew over months has been vacuumed and analysed and its
  # pages written out; one bulk-loaded a moment ago has autovacuum and a
  # checkpoint still at work on it, which would land in the measurements
  # below.
  psql "$TESSERA_TEST_POSTGRES" -q -c "SET search_path = $schema" -c "VACUUM ANALYZE" -c "CHECKPOINT"
fi

# The first start on the seeded store. The collector's first pass begins a
# minute after start: refresh latency at half load is measured before it
# (after a warm-up) and while it sweeps the expired families. Start-up
# itself is timed after the sweep (time_starts).
LOG_LEVEL=debug
start_server
half=$(half_of "$out/refresh_token.json")
half_rate() { # name label
  bench "$1" "$2" --scenario refresh_token --rate "$half" --authority "$A" \
    --user-client-id "$NAT" --redirect-uri http://localhost:3000/redirect --username demo --scope "$API openid offline_access"
}
half_rate refresh_token-half-rate-warmup "$STORE, seeded, warming up"
half_rate refresh_token-half-rate "$STORE, seeded, before the sweep"
for _ in $(seq 1 1200); do
  grep -q 'collecting expired rows' "$work/log" && break
  sleep 0.1
done
count_rows() { # the expired refresh families and tokens left in the store
  if [ "$STORE" = postgres ]; then
    psql "$TESSERA_TEST_POSTGRES" -Atc "SELECT (SELECT count(*) FROM $schema.refresh_families WHERE expires_at < now()) + (SELECT count(*) FROM $schema.refresh_tokens WHERE expires_at < now())"
  else # times are Unix milliseconds
    python3 -c "import sqlite3,sys,time;d=sqlite3.connect('file:'+sys.argv[1]+'?mode=ro',uri=True);n=int(time.time()*1000);print(d.execute('SELECT (SELECT count(*) FROM refresh_families WHERE expires_at < ?)+(SELECT count(*) FROM refresh_tokens WHERE expires_at < ?)',(n,n)).fetchone()[0])" "$data/tessera.db"
  fi
}
rows0=$(count_rows); sweep_start=$(date +%s%N)
half_rate refresh_token-half-rate-sweep "$STORE, seeded, during the sweep"
rows1=$(count_rows); sweep_end=$(date +%s%N)
echo "$(( rows0 - rows1 )) $(( (sweep_end - sweep_start) / 1000000 ))" >"$out/sweep_rows_ms.txt"
LOG_LEVEL=warn
stop_server
startups=($(time_starts 5))
echo "${startups[*]}" >"$out/startup_ms.txt"
start_server
scenarios "$STORE, seeded" "-seeded"
# Seeded against empty side by side: a server on the empty copy beside
# the seeded one, and one generator alternating between them in
# one-second slices, so that both see the same machine. The runs above
# are many minutes apart, and a shared machine's speed drifts within that
# by more than the 10 % the target allows.
SIDE_DURATION="${SIDE_DURATION:-20s}"
"$T" serve --dev --data-dir "$work/empty" --addr 127.0.0.1:18702 --pprof-addr 127.0.0.1:18703 --log-level warn \
  "${empty_store_flags[@]}" >/dev/null 2>>"$work/log" &
empty_server=$!
for _ in $(seq 1 3000); do curl -sf --cacert "$data/ca.pem" "https://localhost:18702/healthz" >/dev/null 2>&1 && break; sleep 0.01; done
wait_idle 18703; wait_idle
side_by_side() { # scenario args...
  local sc=$1; shift
  echo "== $sc, empty and seeded side by side" >&2
  "$B" --json --ca-file "$data/ca.pem" --duration "$SIDE_DURATION" --store "$STORE" --scenario "$sc" \
    --authority "https://localhost:18702/demo" --compare-authority "$A" --label-a empty --label-b seeded "$@" >"$out/$sc-side-by-side.json"
  "$B" compare-report "$out/$sc-side-by-side.json" | tail -2 >&2
}
side_by_side client_credentials --client-id "$WEB"
side_by_side refresh_token --user-client-id "$NAT" --redirect-uri http://localhost:3000/redirect --username demo \
  --scope "$API openid offline_access"
kill "$empty_server"; wait "$empty_server" 2>/dev/null || true
stop_server

# ---- docs/scale-<store>.md, from the results above ---------------------------------
python3 - "$out" "$STORE" "$TENANTS" "$APPS" "$USERS" "$FAMILIES" "$EXPIRED" "$DURATION" <<'PY' >"docs/scale-$STORE.md"
import json, os, sys, datetime
out, store, tenants, apps, users, families, expired, duration = sys.argv[1:]
def r(name):
    return json.load(open(os.path.join(out, name + ".json")))
def read(name):
    return open(os.path.join(out, name)).read().strip()
m = r("client_credentials")["machine"]
print(f"# Tessera at scale: {store}\n")
print(f"Generated by `STORE={store} ./bench/scale.sh` on {datetime.date.today()}: {m['cores']} cores ({m['cpu']}), {m['go']}, "
      f"the load generator on the same machine, {duration} per scenario. Nothing here is typed by hand.\n")
print(f"The seeded store: {int(tenants):,} tenants (each with an EdDSA signing key), {int(apps):,} apps, {int(users):,} users, "
      f"{int(families):,} live refresh families and {int(expired):,} expired ones (`tessera-bench seed`, {read('seed_seconds.txt')} s).\n")
print("| scenario | empty store /s | seeded /s | seeded ÷ empty | p99 empty ms | p99 seeded ms | p99 ratio | % of floor empty | % of floor seeded |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for s in ["client_credentials", "refresh_token", "login"]:
    e, d = r(s), r(s + "-seeded")
    print(f"| {s} | {e['requests_per_second']:.0f} | {d['requests_per_second']:.0f} | {d['requests_per_second']/e['requests_per_second']:.2f} | "
          f"{e['latency_ms']['p99']:.2f} | {d['latency_ms']['p99']:.2f} | {d['latency_ms']['p99']/e['latency_ms']['p99']:.2f} | "
          f"{e.get('percent_of_floor',0):.1f} | {d.get('percent_of_floor',0):.1f} |")
print()
sides = [(s, r(s + "-side-by-side")) for s in ["client_credentials", "refresh_token"] if os.path.exists(os.path.join(out, s + "-side-by-side.json"))]
if sides:
    print(f"The same two scenarios side by side: a server on a copy of the empty store beside the seeded one, one generator "
          f"alternating between them in one-second slices ({sides[0][1]['slices_each']} on each), so that both see the same machine. "
          f"The runs above are many minutes apart, and the machine's speed drifts between them.\n")
    print("| scenario | empty store /s | seeded /s | seeded ÷ empty | p99 empty ms | p99 seeded ms | p99 ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for s, c in sides:
        e, d = c["a"], c["b"]
        print(f"| {s} | {e['requests_per_second']:.0f} | {d['requests_per_second']:.0f} | {c['b_over_a']:.2f} | "
              f"{e['latency_ms']['p99']:.2f} | {d['latency_ms']['p99']:.2f} | {d['latency_ms']['p99']/e['latency_ms']['p99']:.2f} |")
    print()
l64 = r("login-64")
print(f"64 sign-ins at once on the empty store, a fresh server: {l64['requests_per_second']:.0f} logins/s, p99 {l64['latency_ms']['p99']:.0f} ms, "
      f"{l64.get('percent_of_floor',0):.1f} % of the argon2 floor; the server's peak resident memory (VmHWM) {int(read('login64_vmhwm_kib.txt'))/1024:.1f} MiB.\n")
st = read("startup_ms.txt").split()
print(f"Start-up on the seeded store, exec to the first answered request (5 starts): {', '.join(st)} ms.\n")
sw, nosw = r("refresh_token-half-rate-sweep"), r("refresh_token-half-rate")
rows, ms = map(int, read("sweep_rows_ms.txt").split())
print(f"Expiry sweep: the collector's first pass begins a minute after start. refresh_token at half the empty store's "
      f"throughput ({sw['rate_limit']:.0f}/s asked), after a warm-up: p99 {nosw['latency_ms']['p99']:.2f} ms before the sweep, "
      f"{sw['latency_ms']['p99']:.2f} ms during its first {duration} ({sw['latency_ms']['p99']/nosw['latency_ms']['p99']:.2f}×); "
      f"sent at {nosw.get('rate_achieved',0):.0f}/s and {sw.get('rate_achieved',0):.0f}/s. Meanwhile the collector removed "
      f"{rows:,} expired refresh families and tokens in {ms/1000:.1f} s ({rows/(ms/1000):,.0f} rows/s).\n")
PY
