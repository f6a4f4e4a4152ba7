#!/usr/bin/env bash
# Measures what Prometheus metrics cost the token endpoint: two `tessera
# serve` processes on copies of one data directory (same tenant, apps,
# keys and credentials), A with metrics off and B with --metrics-addr and
# a scrape every second, loaded side by side by one tessera-bench run per
# scenario (alternating one-second slices, so both see the same machine).
# Results go to bench/results/overhead/, and bench/report.sh renders them
# in docs/benchmarks.md.
#
#   ./bench/overhead.sh              # about 1 minute on 2 cores
#   DURATION=30s ./bench/overhead.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${DURATION:-20s}"
out=bench/results/overhead
mkdir -p "$out"; rm -f "$out"/*.json
rm -f bench/results/all_run.txt # the report no longer shows one run alone (bench/all.sh)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
go build -o "$work/tessera" ./cmd/tessera
go build -o "$work/tessera-bench" ./cmd/tessera-bench
T="$work/tessera"; B="$work/tessera-bench"
portA=18600; portB=18601; metrics=18602

wait_up() { # port
  for _ in $(seq 1 3000); do curl -sf --cacert "$work/a/ca.pem" "https://localhost:$1/healthz" >/dev/null 2>&1 && return; sleep 0.01; done
  echo "server on $1 did not start" >&2; exit 1
}
# Bootstrap once, then copy: both servers hold the same credentials.
"$T" serve --dev --data-dir "$work/a" --addr 127.0.0.1:$portA --log-level warn >"$work/banner" 2>>"$work/log" &
first=$!; wait_up $portA; kill $first; wait $first 2>/dev/null || true
field() { grep "$1" "$work/banner" | sed -n "${2:-1}p" | awk '{print $NF}'; }
WEB=$(field "Application (client) ID" 1); NAT=$(field "Application (client) ID" 2)
export TESSERA_BENCH_SECRET=$(field "Client secret") TESSERA_BENCH_PASSWORD=$(field "Password:")
cp -a "$work/a" "$work/b"

"$T" serve --dev --data-dir "$work/a" --addr 127.0.0.1:$portA --log-level warn >/dev/null 2>>"$work/log" &
"$T" serve --dev --data-dir "$work/b" --addr 127.0.0.1:$portB --log-level warn --metrics-addr 127.0.0.1:$metrics >/dev/null 2>>"$work/log" &
wait_up $portA; wait_up $portB
# Prometheus's usual 15 s interval would cost less; once a second is the
# heavy end.
( while sleep 1; do curl -sf "http://127.0.0.1:$metrics/metrics" >/dev/null || true; done ) &

A="https://localhost:$portA/demo"; Bauth="https://localhost:$portB/demo"
API="api://$WEB/access_as_user"
compare() { # name args...
  local name=$1; shift
  echo "== $name" >&2
  "$B" --ca-file "$work/a/ca.pem" --duration "$DURATION" --store sqlite --authority "$A" --compare-authority "$Bauth" \
    --label-a "metrics off" --label-b "metrics on" --json "$@" >"$out/$name.json"
  "$B" compare-report "$out/$name.json" | tail -2 >&2
}
compare client_credentials --scenario client_credentials --client-id "$WEB"
compare refresh_token --scenario refresh_token --user-client-id "$NAT" --redirect-uri http://localhost:3000/redirect \
  --username demo --scope "$API openid offline_access"

echo "$DURATION" >"$out/duration.txt"
TESSERA_BENCH="$B" ./bench/report.sh
echo "docs/benchmarks.md updated" >&2
