#!/usr/bin/env bash
# Interactive sign-in with and without a second factor, one after the
# other against one development server: the login scenario (password) and
# login_totp (password, then a TOTP code from an account of the worker's
# own). DURATION (default 10s) and CONCURRENCY (default 64) set the runs;
# results go to bench/results/mfa/{login,login_totp}.json, which
# bench/report.sh renders in docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${DURATION:-10s}"
CONCURRENCY="${CONCURRENCY:-64}"
out=bench/results/mfa
mkdir -p "$out"
rm -f bench/results/all_run.txt # the report no longer shows one run alone (bench/all.sh)
port=18520; dbg=18521
. bench/lib.sh

start_server
NAT=$(field "Application (client) ID" 2); PW=$(field "Password:")
export TESSERA_BENCH_PASSWORD="$PW" TESSERA_BENCH_TOTP_KEY="bench-$RANDOM-$RANDOM"
A="https://localhost:$port/demo"
# Two or three sign-ins per account per 30 s: enough accounts for the run.
users=$(( CONCURRENCY * ${DURATION%s} * 3 ))
"$B" mfa-users --data-dir "$data" --tenant demo --users "$users" >&2
"$T" --data-dir "$data" app consent --tenant demo --app "$NAT" >/dev/null

for scenario in login login_totp; do
  echo "== $scenario" >&2
  "$B" --json --ca-file "$data/ca.pem" --duration "$DURATION" --store sqlite --server-debug "http://127.0.0.1:$dbg" \
    --scenario "$scenario" --concurrency "$CONCURRENCY" --authority "$A" --user-client-id "$NAT" \
    --redirect-uri http://localhost:3000/redirect --username demo --scope "openid offline_access" \
    --totp-users "$users" >"$out/$scenario.json"
  summarize "$out/$scenario.json"
done
stop_server
