#!/usr/bin/env bash
# bench/ingest.sh: the server CPU each upload costs (issue 9, "ingest of many
# packages"). It starts a server with the defaults (SQLite and files in
# --data), waits until its start-up work is done, uploads N small packages
# with 8 parallel clients (bench/seed), and prints the server's CPU time
# (utime + stime of the process from /proc, children included) per upload
# and the upload rate. CPU per upload hardly depends on what else the
# machine runs; the rate does.
#
#   bench/ingest.sh                  # 3,000 packages from the work tree
#   INGEST_N=1000 INGEST_REV=main bench/ingest.sh
#   INGEST_PERF=1 bench/ingest.sh    # also perf record -g the server while it ingests
#   INGEST_BIN=/tmp/gatehouse-a bench/ingest.sh   # a binary built before (A/B runs)
#
# Variables: INGEST_N (3000), INGEST_WORKERS (8), INGEST_REV (build the
# server from this git revision instead of the work tree), INGEST_BIN (run
# this server binary, no build), INGEST_NICE (19: the niceness of the
# build, server and seeder), INGEST_PERF (0), INGEST_PERF_DATA (where to
# keep perf.data; it is removed otherwise).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=${INGEST_N:-3000}
WORKERS=${INGEST_WORKERS:-8}
NICE=${INGEST_NICE:-19}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-ingest.XXXXXX")
GH_PID=
cleanup() {
  if [ -n "$GH_PID" ]; then kill "$GH_PID" 2>/dev/null || true; wait "$GH_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
log() { printf 'ingest: %s\n' "$*" >&2; }

SRC=$ROOT
if [ -n "${INGEST_REV:-}" ]; then
  SRC=$WORK/src
  mkdir -p "$SRC"
  git -C "$ROOT" archive "$INGEST_REV" | tar -x -C "$SRC"
fi
if [ -n "${INGEST_BIN:-}" ]; then
  cp "$INGEST_BIN" "$WORK/gatehouse"
else
  (cd "$SRC" && nice -n "$NICE" go build -o "$WORK/gatehouse" ./cmd/gatehouse)
fi
(cd "$ROOT" && nice -n "$NICE" go build -o "$WORK/seed" ./bench/seed)

while read -r v; do unset "$v"; done < <(compgen -e | grep '^GATEHOUSE_' || true)
GATEHOUSE_INITIAL_ADMIN_PASSWORD="ingest-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
export GATEHOUSE_INITIAL_ADMIN_PASSWORD
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT
nice -n "$NICE" "$WORK/gatehouse" server --listen "127.0.0.1:$PORT" --data "$WORK/data" --log-level warn >"$WORK/server.log" 2>&1 &
GH_PID=$!
for ((i = 0; i < 600; i++)); do
  curl -fsS -o /dev/null --max-time 2 "$URL/readyz" 2>/dev/null && break
  kill -0 "$GH_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
  sleep 0.1
done

# cpu_ticks prints the server's utime+stime+cutime+cstime in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$GH_PID/stat"; }
# Start-up work (the tools channel's packages) runs beside the first
# requests: wait until the server is idle so it is not counted.
prev=$(cpu_ticks)
for ((i = 0; i < 60; i++)); do
  sleep 1
  now=$(cpu_ticks)
  ((now - prev <= 2)) && break
  prev=$now
done
start_cpu=$(cpu_ticks)
log "server idle after start-up: $start_cpu ticks of CPU so far"

PERF_PID=
if [ "${INGEST_PERF:-0}" = 1 ]; then
  PERF_DATA=${INGEST_PERF_DATA:-$WORK/perf.data}
  perf record -g -o "$PERF_DATA" -p "$GH_PID" 2>"$WORK/perf.log" &
  PERF_PID=$!
fi
t0=$(date +%s.%N)
nice -n "$NICE" "$WORK/seed" -url "$URL" -n "$N" -workers "$WORKERS" -big-size 1024 >"$WORK/seed.out" 2>"$WORK/seed.err" || {
  cat "$WORK/seed.err" >&2; exit 1; }
t1=$(date +%s.%N)
end_cpu=$(cpu_ticks)
if [ -n "$PERF_PID" ]; then
  kill -INT "$PERF_PID"; wait "$PERF_PID" || true
  perf report -i "$PERF_DATA" --no-children --percent-limit 1.5 --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -25 || true
  echo "--- with children"
  perf report -i "$PERF_DATA" --children --percent-limit 3 --stdio 2>/dev/null | grep -E '^ +[0-9]' | grep -v 'runtime\.' | head -40 || true
fi
hz=$(getconf CLK_TCK)
awk -v n="$N" -v c=$((end_cpu - start_cpu)) -v hz="$hz" -v t0="$t0" -v t1="$t1" -v loadavg="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {
  printf "uploads %d  server CPU %.2f s  = %.2f ms/upload  wall %.1f s = %.0f uploads/s  (load average %s)\n",
    n + 1, c / hz, 1000 * c / hz / (n + 1), t1 - t0, (n + 1) / (t1 - t0), loadavg }'
tail -n 3 "$WORK/seed.err" >&2 || true
