#!/usr/bin/env bash
# Runs every benchmark scenario with the load generator (tessera-bench)
# against a fresh `tessera serve` on this machine (SQLite, then PostgreSQL
# if TESSERA_TEST_POSTGRES is set), keeps each result as JSON under
# bench/results/, and regenerates docs/benchmarks.md from them: nothing in
# the tables is typed by hand.
#
#   ./bench/run.sh            # about 6 minutes on 2 cores
#   DURATION=20s ./bench/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${DURATION:-10s}"
out=bench/results
# Its own results only: bench/results/scale/ is bench/scale.sh's, which
# the report reads too.
mkdir -p "$out"; find "$out" -maxdepth 1 -type f -delete; rm -rf "$out/profiles"
port=18500; dbg=18501
. bench/lib.sh

# Each scenario also gets a CPU and an allocation profile of the server,
# taken from its debug listener while the load runs; their top entries are
# kept as text under bench/results/profiles/ for the report.
secs=${DURATION%s}; psecs=$(( secs > 6 ? secs - 4 : 2 ))
mkdir -p "$out/profiles"
bench() { # name store args...
  local name=$1 store=$2; shift 2
  echo "== $name" >&2
  (
    sleep 3
    curl -sf -o "$work/allocs0" "http://127.0.0.1:$dbg/debug/pprof/allocs" || true
    curl -sf -o "$work/$name.cpu" "http://127.0.0.1:$dbg/debug/pprof/profile?seconds=$psecs" || true
    curl -sf -o "$work/allocs1" "http://127.0.0.1:$dbg/debug/pprof/allocs" || true
  ) &
  local profiler=$!
  "$B" --json --ca-file "$data/ca.pem" --duration "$DURATION" --store "$store" --server-debug "http://127.0.0.1:$dbg" "$@" >"$out/$name.json"
  wait "$profiler" || true
  {
    echo "CPU, ${psecs}s under load, by own time:"
    go tool pprof -top -nodecount=12 "$T" "$work/$name.cpu" 2>/dev/null | sed -n '/flat%/,$p' || true
    echo
    echo "The same, cumulative, for the steps of a request (signature, store, HTTP and TLS, memory):"
    go tool pprof -top -cum -nodecount=400 "$T" "$work/$name.cpu" 2>/dev/null | sed -n '/flat%/,$p' |
      grep -E 'flat%|tessera/(oauth|token|store/[a-z]+)\.|tessera/server\.\(\*Server\)\.token$|rsa\.SignPKCS1v15$|ecdsa\.SignASN1$|ed25519\.Sign$|net/http\.\(\*response\)\.finishRequest$|net/http\.\(\*conn\)\.readRequest$|modernc\.org/sqlite\.\(\*conn\)\.step$|runtime\.gcBgMarkWorker$|runtime\.mallocgc$' | head -22 || true
    echo
    echo "Allocated bytes over the same time, by allocating function:"
    go tool pprof -sample_index=alloc_space -base "$work/allocs0" -top -nodecount=8 "$T" "$work/allocs1" 2>/dev/null | sed -n '/flat%/,$p' || true
  } >"$out/profiles/$name.txt"
  summarize "$out/$name.json"
}

# ---- SQLite ------------------------------------------------------------
start_server
WEB=$(field "Application (client) ID" 1); NAT=$(field "Application (client) ID" 2)
SEC=$(field "Client secret"); PW=$(field "Password:")
export TESSERA_BENCH_SECRET="$SEC" TESSERA_BENCH_PASSWORD="$PW"
A="https://localhost:$port/demo"
API="api://$WEB/access_as_user"

# Tenants signing with ES256 and EdDSA, each with a daemon, a public app and a user.
declare -A CID CSEC PUB
for alg in ES256 EdDSA; do
  t=$(echo "$alg" | tr 'A-Z' 'a-z')
  "$T" --data-dir "$data" tenant create "$t" --signing-alg "$alg" -o json >/dev/null
  CID[$alg]=$("$T" --data-dir "$data" app register --tenant "$t" --name daemon -o json | json client_id)
  CSEC[$alg]=$("$T" --data-dir "$data" app secret add --tenant "$t" --app "${CID[$alg]}" -o json | json secret)
  PUB[$alg]=$("$T" --data-dir "$data" app register --tenant "$t" --name native --public --redirect-uri http://localhost:3000/redirect -o json | json client_id)
  echo "$PW" | "$T" --data-dir "$data" user create --tenant "$t" --username demo --password-stdin -o json >/dev/null
done
# Restart on the data directory just set up, so the memory figure below is
# the load's, not the first start's (key generation, the demo password).
stop_server
start_server

bench client_credentials-RS256 sqlite --scenario client_credentials --authority "$A" --client-id "$WEB"
for alg in ES256 EdDSA; do
  t=$(echo "$alg" | tr 'A-Z' 'a-z')
  TESSERA_BENCH_SECRET="${CSEC[$alg]}" bench "client_credentials-$alg" sqlite --scenario client_credentials \
    --authority "https://localhost:$port/$t" --client-id "${CID[$alg]}"
done
bench refresh_token-RS256 sqlite --scenario refresh_token --authority "$A" --user-client-id "$NAT" \
  --redirect-uri http://localhost:3000/redirect --username demo --scope "$API openid offline_access"
bench refresh_token-ES256 sqlite --scenario refresh_token --authority "https://localhost:$port/es256" --user-client-id "${PUB[ES256]}" \
  --redirect-uri http://localhost:3000/redirect --username demo --scope "openid offline_access"
bench authorization_code-RS256 sqlite --scenario authorization_code --authority "$A" --user-client-id "$NAT" \
  --redirect-uri http://localhost:3000/redirect --username demo --scope "$API openid offline_access"
bench device_code-RS256 sqlite --scenario device_code --authority "$A" --user-client-id "$NAT" --scope "$API openid"
bench introspect-RS256 sqlite --scenario introspect --authority "$A" --client-id "$WEB"
bench jwks sqlite --scenario jwks --authority "$A"
bench discovery sqlite --scenario discovery --authority "$A"

# Latency below saturation: each client_credentials case again at half the
# throughput it reached above.
for alg in RS256 ES256; do
  half=$(half_of "$out/client_credentials-$alg.json")
  if [ "$alg" = RS256 ]; then
    bench "client_credentials-$alg-half-rate" sqlite --scenario client_credentials --authority "$A" --client-id "$WEB" --rate "$half"
  else
    TESSERA_BENCH_SECRET="${CSEC[$alg]}" bench "client_credentials-$alg-half-rate" sqlite --scenario client_credentials \
      --authority "https://localhost:$port/es256" --client-id "${CID[$alg]}" --rate "$half"
  fi
done
rss_kb=$(awk '/VmHWM/ {print $2}' /proc/$server/status)
# Interactive sign-ins last, once the token scenarios' peak memory is read:
# each password check takes argon2id's 7 MiB.
bench login sqlite --scenario login --concurrency 64 --authority "$A" --user-client-id "$NAT" \
  --redirect-uri http://localhost:3000/redirect --username demo --scope "openid offline_access"
stop_server

# Start-up with an existing data directory: exec to first answered request.
startups=($(time_starts 5))

# ---- PostgreSQL ----------------------------------------------------------
pg_note="PostgreSQL runs were skipped: TESSERA_TEST_POSTGRES is not set."
if [ -n "${TESSERA_TEST_POSTGRES:-}" ]; then
  schema="tessera_bench_$$"
  rm -rf "$data"
  start_server --store "$TESSERA_TEST_POSTGRES" --pg-schema "$schema"
  WEB=$(field "Application (client) ID" 1); NAT=$(field "Application (client) ID" 2)
  export TESSERA_BENCH_SECRET=$(field "Client secret") TESSERA_BENCH_PASSWORD=$(field "Password:")
  API="api://$WEB/access_as_user"
  bench client_credentials-RS256-postgres postgres --scenario client_credentials --authority "$A" --client-id "$WEB"
  bench refresh_token-RS256-postgres postgres --scenario refresh_token --authority "$A" --user-client-id "$NAT" \
    --redirect-uri http://localhost:3000/redirect --username demo --scope "$API openid offline_access"
  stop_server
  psql "$TESSERA_TEST_POSTGRES" -qc "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true
  pg_note="PostgreSQL: the local server of this machine (127.0.0.1, trust auth), one \`tessera serve\` instance."
fi

# ---- Go benchmarks of the hot units --------------------------------------
gobench=$(go test -run '^$' -bench . -benchtime 2s -benchmem ./token/ ./oauth/ ./client/ 2>&1 | grep -E '^(Benchmark|goos|goarch|cpu|pkg)' || true)
gobench+=$'\n'$(go test -run '^$' -bench '/sqlite' -benchtime 2s -benchmem ./store/sqlstore/ 2>&1 | grep -E '^(Benchmark|pkg)' || true)
if [ -n "${TESSERA_TEST_POSTGRES:-}" ]; then
  gobench+=$'\n'$(go test -run '^$' -bench '/postgres' -benchtime 2000x -benchmem ./store/sqlstore/ 2>&1 | grep -E '^(Benchmark|pkg)' || true)
fi
cachebench=$(go test -run '^$' -bench 'SilentLookup' -benchtime 200000x -benchmem ./client/cache/ 2>&1 | grep -E '^(Benchmark|pkg)' || true)

# ---- keep what the report needs beside the JSON results --------------------
echo "$rss_kb" >"$out/rss_kb.txt"
echo "${startups[*]}" >"$out/startup_ms.txt"
echo "$pg_note" >"$out/pg_note.txt"
echo "$DURATION" >"$out/duration.txt"
date -u +%Y-%m-%d >"$out/date.txt"
printf '%s\n' "$gobench" >"$out/gobench.txt"
printf '%s\n' "$cachebench" >"$out/cachebench.txt"
# Every run is also kept under bench/runs/, so the report can show how much
# the same scenarios move from one run to the next on this machine.
run_dir="bench/runs/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$run_dir" && cp -r "$out"/* "$run_dir"/
TESSERA_BENCH="$B" ./bench/report.sh
