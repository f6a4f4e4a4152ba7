#!/usr/bin/env bash
# Measures what a change to the server earns: two `tessera serve` processes
# built from two source trees (or one tree, B with other environment
# variables), on copies of one data directory, loaded side by side by one
# tessera-bench run (alternating one-second slices, so both see the same
# machine). Prints B's share of A's throughput and each server's peak
# memory; the JSON goes to bench/results/sidebyside/.
#
#   ./bench/sidebyside.sh A_TREE B_TREE [refresh_token|client_credentials|login]
#   B_ENV="GOGC=400" ./bench/sidebyside.sh . . refresh_token
#   DURATION=30s ./bench/sidebyside.sh . ../experiment login
#
# A tree is a checkout of Tessera (a git worktree of the change to try);
# its ./cmd/tessera is built. The load generator is this checkout's.
# The slices are only fair on a quiet machine: run nothing else meanwhile.
set -euo pipefail
treeA=$(cd "${1:?A_TREE}" && pwd); treeB=$(cd "${2:?B_TREE}" && pwd)
scenario="${3:-refresh_token}"
cd "$(dirname "$0")/.."
DURATION="${DURATION:-20s}"
out=bench/results/sidebyside
mkdir -p "$out"
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
(cd "$treeA" && go build -o "$work/tessera-a" ./cmd/tessera)
(cd "$treeB" && go build -o "$work/tessera-b" ./cmd/tessera)
go build -o "$work/tessera-bench" ./cmd/tessera-bench
B="$work/tessera-bench"
portA=18700; portB=18701

wait_up() { # port
  for _ in $(seq 1 3000); do curl -sf --cacert "$work/a/ca.pem" "https://localhost:$1/healthz" >/dev/null 2>&1 && return; sleep 0.01; done
  echo "server on $1 did not start" >&2; cat "$work/log" >&2; exit 1
}
# Bootstrap once with A, then copy: both servers hold the same credentials.
"$work/tessera-a" serve --dev --data-dir "$work/a" --addr 127.0.0.1:$portA --log-level warn >"$work/banner" 2>>"$work/log" &
first=$!; wait_up $portA; kill $first; wait $first 2>/dev/null || true
field() { grep "$1" "$work/banner" | sed -n "${2:-1}p" | awk '{print $NF}'; }
WEB=$(field "Application (client) ID" 1); NAT=$(field "Application (client) ID" 2)
export TESSERA_BENCH_SECRET=$(field "Client secret") TESSERA_BENCH_PASSWORD=$(field "Password:")
cp -a "$work/a" "$work/b"

"$work/tessera-a" serve --dev --data-dir "$work/a" --addr 127.0.0.1:$portA --log-level warn >/dev/null 2>>"$work/log" &
pidA=$!
# shellcheck disable=SC2086 # B_ENV is a list of NAME=value words
env ${B_ENV:-} "$work/tessera-b" serve --dev --data-dir "$work/b" --addr 127.0.0.1:$portB --log-level warn >/dev/null 2>>"$work/log" &
pidB=$!
wait_up $portA; wait_up $portB

case "$scenario" in
client_credentials) args=(--scenario client_credentials --client-id "$WEB") ;;
refresh_token) args=(--scenario refresh_token --user-client-id "$NAT" --redirect-uri http://localhost:3000/redirect
  --username demo --scope "api://$WEB/access_as_user openid offline_access") ;;
login) args=(--scenario login --concurrency 64 --user-client-id "$NAT" --redirect-uri http://localhost:3000/redirect
  --username demo --scope "openid offline_access") ;;
*) echo "unknown scenario $scenario" >&2; exit 2 ;;
esac
name="$scenario-$(date -u +%Y%m%dT%H%M%S)"
"$B" --ca-file "$work/a/ca.pem" --duration "$DURATION" --store sqlite \
  --authority "https://localhost:$portA/demo" --compare-authority "https://localhost:$portB/demo" \
  --label-a "$(basename "$treeA")" --label-b "$(basename "$treeB")${B_ENV:+ $B_ENV}" --json "${args[@]}" >"$out/$name.json"
"$B" compare-report "$out/$name.json" | tail -2
echo "peak memory (VmHWM): A $(awk '/VmHWM/ {print $2, $3}' /proc/$pidA/status), B $(awk '/VmHWM/ {print $2, $3}' /proc/$pidB/status)"
