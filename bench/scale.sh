#!/usr/bin/env bash
# bench/scale.sh measures issue 9's targets, reproducibly, on one machine:
#   hosted: ingest rate of N small packages with 8 parallel clients (bench/seed), RSS while
#           serving repodata.json/.zst/the shard index/shards, and one more upload until it is
#           visible in repodata.json and in its shard;
#   mirror: a mirror of the conda-forge-shaped test upstream (M records of linux-64, package
#           files generated on request): peak RSS during the sync, RSS while serving, and one
#           upstream change until it is visible in repodata.json and its shard.
# Usage: bench/scale.sh           # short: N=20,000, M=20,000 (a few minutes)
#        bench/scale.sh --full    # the issue's sizes: N=100,000, M=465,000 (CPU heavy, long)
# SCALE_RECORDS and SCALE_MIRROR override N and M; SCALE_UPLOADS (10) is how many uploads, one at a time, are timed until visible; SCALE_MIRROR_MODE=proxy follows the upstream as a
# proxy (records only, no file copies: the same sync path, for a machine too busy to copy M files). SCALE_MIRROR=0 skips
# the mirror. SCALE_PROFILE=DIR saves heap profiles (go tool pprof) at each RSS reading into DIR. Everything runs on 127.0.0.1 in a temporary
# directory, removed on exit. Output: one table in Markdown on stdout.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=${SCALE_RECORDS:-20000}
M=${SCALE_MIRROR:-20000}
MODE=${SCALE_MIRROR_MODE:-mirror}
if [ "${1:-}" = "--full" ]; then N=${SCALE_RECORDS:-100000}; M=${SCALE_MIRROR:-465000}; fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-scale.XXXXXX")
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
log() { echo "scale: $*" >&2; }
die() { log "$*"; exit 1; }
rss_mb() { awk '/^VmRSS/ { printf "%d", $2 / 1024 }' "/proc/$1/status"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() {
  local i
  for ((i = 0; i < 600; i++)); do
    curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || die "the server exited; see its log"
    sleep 0.1
  done
  die "$1 did not answer"
}

log "building gatehouse, the seeder and bench/scale"
(cd "$ROOT" && go build -o "$WORK/gatehouse" ./cmd/gatehouse && go build -o "$WORK/seed" ./bench/seed && go build -o "$WORK/scale" ./bench/scale) || die "build failed"
while read -r v; do unset "$v"; done < <(compgen -e | grep '^GATEHOUSE_' || true)
GATEHOUSE_INITIAL_ADMIN_PASSWORD="scale-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
export GATEHOUSE_INITIAL_ADMIN_PASSWORD
PORT=$(free_port)
GH="http://127.0.0.1:$PORT"
PROFILE=()
if [ -n "${SCALE_PROFILE:-}" ]; then
  mkdir -p "$SCALE_PROFILE"
  PPROF="127.0.0.1:$(free_port)"
  PROFILE=(--pprof-listen "$PPROF")
fi
heap() { # heap <name>: a heap profile into SCALE_PROFILE, if asked
  [ -z "${SCALE_PROFILE:-}" ] || curl -fsS -o "$SCALE_PROFILE/$1.pb.gz" "http://$PPROF/debug/pprof/heap" || log "no heap profile for $1"
}
"$WORK/gatehouse" server "${PROFILE[@]}" --listen "127.0.0.1:$PORT" --data "$WORK/data" --log-level warn --upstream-allow 127.0.0.0/8 >"$WORK/gatehouse.log" 2>&1 &
GH_PID=$!
PIDS+=("$GH_PID")
wait_http "$GH/readyz" "$GH_PID"
ADMIN=(-u "admin:$GATEHOUSE_INITIAL_ADMIN_PASSWORD")

# Serving: repodata.json (gzip and plain), .zst, the shard index and 200 shards.
serve_all() { # serve_all <channel> <subdir>
  local base="$GH/repo/$1/$2" s
  curl -fsS -o /dev/null -H "$AUTH" "$base/repodata.json"
  curl -fsS -o /dev/null -H "$AUTH" -H 'Accept-Encoding: gzip' "$base/repodata.json"
  curl -fsS -o /dev/null -H "$AUTH" "$base/repodata.json.zst"
  curl -fsS -o "$WORK/index.zst" -H "$AUTH" "$base/repodata_shards.msgpack.zst"
  for s in $(find "$WORK/data" -path "*/$2/shards/*.msgpack.zst" -printf '%f\n' 2>/dev/null | head -n 200); do
    curl -fsS -o /dev/null -H "$AUTH" "$base/shards/$s"
  done
}

# 1. Hosted.
log "hosted: seeding $N packages with 8 parallel uploads"
START=$(date +%s.%N)
"$WORK/seed" -url "$GH" -channel scale -n "$N" -workers 8 -big-size 1024 -timeout 3h >"$WORK/seed.env" 2>"$WORK/seed.log" || { cat "$WORK/seed.log" >&2; die "seeding failed"; }
END=$(date +%s.%N)
# shellcheck disable=SC1091
. "$WORK/seed.env"
export GATEHOUSE_KEY
AUTH="Authorization: Bearer $GATEHOUSE_KEY"
RATE=$(grep -o '([0-9]* uploads/s)' "$WORK/seed.log" | tr -dc 0-9)
INGEST_S=$(awk -v a="$START" -v b="$END" 'BEGIN { printf "%.0f", b - a }')
RSS_INGEST=$(rss_mb "$GH_PID")
heap hosted-ingest
serve_all scale noarch
RSS_SERVE=$(rss_mb "$GH_PID")
heap hosted-serve
eval "$("$WORK/scale" upload -url "$GH" -channel scale -subdir noarch -repeat "${SCALE_UPLOADS:-10}")"
serve_all scale noarch
RSS_SERVE2=$(rss_mb "$GH_PID")
heap hosted-after-uploads
log "hosted: $N in ${INGEST_S}s ($RATE/s); RSS $RSS_INGEST MB after ingest, $RSS_SERVE / $RSS_SERVE2 MB serving; $UPLOADS more uploads visible in ${VISIBLE_JSON_MS} ms median, ${VISIBLE_JSON_MAX_MS} ms slowest (json), ${VISIBLE_SHARD_MS} / ${VISIBLE_SHARD_MAX_MS} ms (shard)"

HOSTED_ROWS="| hosted: ingest of $N packages, 8 parallel clients | ${INGEST_S} s, $RATE uploads/s | ≥ 300/s |
| hosted: RSS after ingest / serving / after the uploads and serving | $RSS_INGEST / $RSS_SERVE / $RSS_SERVE2 MB | ≤ 150 MB (100k) |
| hosted: $UPLOADS more uploads, one at a time (201 in $UPLOAD_MS ms median): visible in repodata.json / its shard, median | $VISIBLE_JSON_MS / $VISIBLE_SHARD_MS ms | ≤ 300 ms (100k) |
| hosted: the same, slowest of the $UPLOADS | $VISIBLE_JSON_MAX_MS / $VISIBLE_SHARD_MAX_MS ms | ≤ 300 ms (100k) |"
if [ "$M" = 0 ]; then
  printf '| measure | value | target |\n|---|---|---|\n%s\n' "$HOSTED_ROWS"
  exit 0
fi

# 2. Mirror of the forge.
log "mirror: starting the test upstream with $M records"
"$WORK/scale" forge -n "$M" >"$WORK/forge.env" 2>"$WORK/forge.log" &
PIDS+=("$!")
for _ in $(seq 600); do grep -q '^URL=' "$WORK/forge.env" 2>/dev/null && break; sleep 0.2; done
FORGE=$(sed -n 's/^URL=//p' "$WORK/forge.env")
[ -n "$FORGE" ] || die "the forge did not start"
curl -fsS -o /dev/null "$FORGE/linux-64/repodata.json" # builds its documents once, before the clock starts
curl -fsS -o /dev/null "$FORGE/linux-64/repodata_shards.msgpack.zst"
curl -fsS -o /dev/null "${ADMIN[@]}" -H 'Content-Type: application/json' -X POST "$GH/api/channels" \
  -d "{\"name\":\"forge\",\"visibility\":\"private\",\"upstream\":{\"url\":\"$FORGE\",\"mode\":\"$MODE\",\"filters\":{\"subdirs\":[\"linux-64\"]}}}" ||
  die "could not create the mirror"
START=$(date +%s.%N)
PEAK=0
STATE=""
while :; do
  R=$(rss_mb "$GH_PID"); [ "$R" -gt "$PEAK" ] && PEAK=$R
  STATE=$(curl -fsS "${ADMIN[@]}" "$GH/api/channels/forge" | python3 -c 'import json,sys; print(json.load(sys.stdin)["upstream"]["status"]["state"])')
  case "$STATE" in ok|failed) break ;; esac
  sleep 1
done
END=$(date +%s.%N)
SYNC_S=$(awk -v a="$START" -v b="$END" 'BEGIN { printf "%.0f", b - a }')
[ "$STATE" = ok ] || { curl -fsS "${ADMIN[@]}" "$GH/api/channels/forge" >&2; die "the mirror's sync failed"; }
serve_all forge linux-64
RSS_MSERVE=$(rss_mb "$GH_PID")
heap mirror-serve
eval "$("$WORK/scale" change -url "$GH" -channel forge -forge "$FORGE" -timeout 5m)"
RSS_MSERVE2=$(rss_mb "$GH_PID")
log "$MODE: $M in ${SYNC_S}s, peak RSS $PEAK MB; serving $RSS_MSERVE / $RSS_MSERVE2 MB; change visible in $CHANGE_JSON_MS ms (json) $CHANGE_SHARD_MS ms (shard)"

cat <<EOT
| measure | value | target |
|---|---|---|
$HOSTED_ROWS
| $MODE of $M records: first sync time, peak RSS during sync | ${SYNC_S} s, $PEAK MB | ≤ 300 MB |
| $MODE: RSS serving / after one change | $RSS_MSERVE / $RSS_MSERVE2 MB | ≤ 300 MB |
| $MODE: one upstream change (sync $CHANGE_SYNC_MS ms; fetched $CHANGE_SHARDS shards, $CHANGE_REPODATA repodata.json) visible in repodata.json / its shard | $CHANGE_JSON_MS / $CHANGE_SHARD_MS ms | ≤ 1,000 ms |
EOT
