# Shared by bench/run.sh and bench/scale.sh (sourced, from the repository's
# root): builds the server and the load generator into a temporary
# directory and starts, stops and reads a development server there.
# The sourcing script sets port, dbg (the server's debug listener) and,
# optionally, store_flags (extra serve flags) and LOG_LEVEL.

work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
go build -o "$work/tessera" ./cmd/tessera
go build -o "$work/tessera-bench" ./cmd/tessera-bench
T="$work/tessera"
B="$work/tessera-bench"
data="$work/data"
store_flags=()

start_server() { # extra flags...
  "$T" serve --dev --data-dir "$data" --addr 127.0.0.1:$port --pprof-addr 127.0.0.1:$dbg --log-level "${LOG_LEVEL:-warn}" \
    "${store_flags[@]}" "$@" >"$work/banner" 2>>"$work/log" &
  server=$!
  # Polled every 5 ms: start-up times are read from this loop.
  for _ in $(seq 1 3000); do curl -sf --cacert "$data/ca.pem" "https://localhost:$port/healthz" >/dev/null 2>&1 && return; sleep 0.005; done
  echo "server did not start"; cat "$work/log"; exit 1
}
# wait_idle: until the server's CPU time stops growing (less than 5 ms
# in 250 ms), at most a minute. A fresh start works for a while before the
# load should begin: SQLite's integrity check reads the whole file beside
# the first requests (seconds for a seeded store), which a measurement
# begun at once would count against the store's size.
# An argument names another server's debug port.
wait_idle() {
  local prev cur port=${1:-$dbg}
  prev=$(curl -sf "http://127.0.0.1:$port/debug/process" | python3 -c "import json,sys;print(json.load(sys.stdin)['cpu_seconds'])")
  for _ in $(seq 1 240); do
    sleep 0.25
    cur=$(curl -sf "http://127.0.0.1:$port/debug/process" | python3 -c "import json,sys;print(json.load(sys.stdin)['cpu_seconds'])")
    python3 -c "import sys;sys.exit(0 if float(sys.argv[2])-float(sys.argv[1]) < 0.005 else 1)" "$prev" "$cur" && return
    prev=$cur
  done
  echo "the server did not go idle within a minute of its start" >&2
}
stop_server() { kill "$server"; wait "$server" 2>/dev/null || true; }
# time_starts N: N starts of a server on the data directory, one after the
# other, each timed from exec to its first answered request by the
# generator, which polls every millisecond from a process already running
# (the shell's curl loop above carries 20 to 40 ms of its own in a
# reading); prints the times in milliseconds on one line.
time_starts() {
  "$B" startup --runs "$1" --url "https://localhost:$port/healthz" --ca-file "$data/ca.pem" -- \
    "$T" serve --dev --data-dir "$data" --addr "127.0.0.1:$port" --log-level warn "${store_flags[@]}"
}
# field LABEL [N]: the value on the Nth line of the start banner naming LABEL.
field() { grep "$1" "$work/banner" | sed -n "${2:-1}p" | awk '{print $NF}'; }
json() { python3 -c "import json,sys;print(json.load(sys.stdin)['$1'])"; }
# half_of RESULT.json: half the requests/s a result reached.
half_of() { python3 -c "import json,sys;print(int(json.load(open(sys.argv[1]))['requests_per_second']/2))" "$1"; }
# summarize RESULT.json: one line of it on stderr.
summarize() {
  python3 - "$1" <<'PY' >&2
import json,sys
r=json.load(open(sys.argv[1]))
print("   %.0f/s  p99 %.2f ms  %s%% of floor  errors %s" % (r["requests_per_second"], r["latency_ms"]["p99"], round(r.get("percent_of_floor",0),1), r["errors"]))
PY
}
