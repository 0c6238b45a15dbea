#!/usr/bin/env bash
# bench/run.sh: serve the same 1 MB package and the same repodata.json from
# nginx (static files) and from Gatehouse (private channel, API key), load
# both with wrk in one run, and print requests/s, p99 latency and
# Gatehouse's ratio. See bench/README.md.
#
# Environment (all optional):
#   BENCH_DURATION     wrk duration per measurement, e.g. 10s or 1m (default 10s)
#   BENCH_WARMUP       unmeasured wrk run before each measurement (default 2s; 0 skips)
#   BENCH_CONNECTIONS  wrk connections (default 32)
#   BENCH_THREADS      wrk threads (default 2)
#   BENCH_PACKAGES     small packages in the channel (default 10000)
#   BENCH_ROUNDS       paired measurements per target; the median is judged (default 3)
#   BENCH_TARGET       minimum Gatehouse/nginx requests/s ratio (default 0.7)
#   BENCH_EXTRA        1 (default) adds rows for repodata.json.zst and a ~2 KB package; 0 skips them
#   BENCH_PROFILE      1 records Gatehouse with perf during its first round on each row and prints
#                      where its CPU time goes (needs perf: Debian linux-perf); the perf.data
#                      files are kept in BENCH_PROFILE_DIR (default $TMPDIR/gatehouse-bench-profile)
#   BENCH_REV          build the server from this git revision (exported with git archive) instead
#                      of the work tree, e.g. HEAD while the work tree does not compile
#   BENCH_SERVER_ARGS  extra flags for `gatehouse server` (word-split), e.g. "--log-level warn"
#   BENCH_AGAINST      a git revision: the reference is Gatehouse built from it instead of nginx
#                      (this build runs on a copy of its seeded data, so both answer the same
#                      bytes), and the ratio compares two revisions directly, e.g.
#                      BENCH_AGAINST=3c6ce43 BENCH_TARGET=0.95
#
# Exit status: 0 once the measurements ran, whatever they show (each row
# says PASS or BELOW TARGET); non-zero when the setup fails.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DURATION=${BENCH_DURATION:-10s}
WARMUP=${BENCH_WARMUP:-2s}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
THREADS=${BENCH_THREADS:-2}
PACKAGES=${BENCH_PACKAGES:-10000}
TARGET=${BENCH_TARGET:-0.7}
ROUNDS=${BENCH_ROUNDS:-3}
EXTRA=${BENCH_EXTRA:-1}
PROFILE=${BENCH_PROFILE:-0}
read -r -a SERVER_ARGS <<<"${BENCH_SERVER_ARGS:-}"

log() { printf 'bench: %s\n' "$*" >&2; }
die() {
  log "$*"
  exit 1
}

# seconds converts a wrk duration (30, 30s, 2m, 1h) to seconds.
seconds() {
  case $1 in
  0) echo 0 ;;
  *[0-9]s | *[0-9]) echo "${1%s}" ;;
  *[0-9]m) echo $((${1%m} * 60)) ;;
  *[0-9]h) echo $((${1%h} * 3600)) ;;
  esac
}
for v in DURATION WARMUP; do
  [[ ${!v} =~ ^[0-9]+[smh]?$ ]] || die "BENCH_$v=${!v}: want a duration such as 10s or 1m"
done
[[ $CONNECTIONS =~ ^[1-9][0-9]*$ && $THREADS =~ ^[1-9][0-9]*$ && $ROUNDS =~ ^[1-9][0-9]*$ && $PACKAGES =~ ^[0-9]+$ ]] ||
  die "BENCH_CONNECTIONS, BENCH_THREADS, BENCH_ROUNDS and BENCH_PACKAGES must be whole numbers"
((CONNECTIONS >= THREADS)) || die "wrk needs at least as many connections ($CONNECTIONS) as threads ($THREADS)"
DURATION_S=$(seconds "$DURATION")
WARMUP_S=$(seconds "$WARMUP")
((DURATION_S > 0)) || die "BENCH_DURATION must be at least 1s"

# Tools: wrk and nginx from Debian packages when missing.
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v curl >/dev/null || need+=(curl)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
if [ "$PROFILE" = 1 ]; then command -v perf >/dev/null || need+=(linux-perf); fi
if ((${#need[@]})); then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO=sudo
  log "installing ${need[*]} with apt-get"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

# WORK holds the server's data, the key and logs: private. NGX is nginx's
# prefix and document root: readable by nginx's workers, which run as
# nobody when this script runs as root.
umask 077
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-bench.XXXXXX")
NGX=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-bench-nginx.XXXXXX")
chmod 755 "$NGX"
GH_PID=""
NGX_PID=""
REF_PID=""

# stop and cleanup run from the EXIT trap.
# shellcheck disable=SC2317
# stop sends SIGTERM to a process this script started and waits up to 10 s
# for it, then kills it.
stop() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
# shellcheck disable=SC2317
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$NGX_PID" ]; then stop "$NGX_PID"; fi
  if [ -n "$GH_PID" ]; then stop "$GH_PID"; fi
  if [ -n "$REF_PID" ]; then stop "$REF_PID"; fi
  rm -rf "$WORK" "$NGX"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# free_port prints a 127.0.0.1 port nothing listens on.
free_port() {
  local p i
  for ((i = 0; i < 200; i++)); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  die "found no free port on 127.0.0.1"
}

# wait_http polls url until it answers 200, for at most $4 seconds, while
# the process pid lives; on failure it shows the end of its log.
wait_http() {
  local url=$1 pid=$2 logf=$3 limit=$4 i
  for ((i = 0; i < limit * 10; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 30 "$logf" >&2 || true
      die "the server exited before $url answered"
    fi
    if curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  tail -n 30 "$logf" >&2 || true
  die "$url did not answer 200 within ${limit}s"
}

# export_rev <rev> <dir>: the tree of a git revision, to build from.
export_rev() {
  mkdir -p "$2"
  git -C "$ROOT" archive "$1" | tar -x -C "$2" || die "cannot export git revision $1"
}
SRC=$ROOT
if [ -n "${BENCH_REV:-}" ]; then
  SRC=$WORK/src
  export_rev "$BENCH_REV" "$SRC"
  log "building the server from $BENCH_REV ($(git -C "$ROOT" rev-parse --short "$BENCH_REV"))"
fi
log "building gatehouse and the seeder"
(cd "$SRC" && go build -o "$WORK/gatehouse" ./cmd/gatehouse) || die "the build failed (go build ./cmd/gatehouse in $SRC)"
(cd "$ROOT" && go build -o "$WORK/seed" ./bench/seed) || die "the build failed (go build ./bench/seed)"
# The reference: nginx serving copies of Gatehouse's files, or (BENCH_AGAINST)
# Gatehouse built from another revision, seeded the same way.
AGAINST=${BENCH_AGAINST:-}
REF_NAME=nginx
if [ -n "$AGAINST" ]; then
  REF_NAME="gh@$(git -C "$ROOT" rev-parse --short "$AGAINST")" || die "no git revision $AGAINST"
  export_rev "$AGAINST" "$WORK/ref-src"
  log "building the reference server from $AGAINST ($REF_NAME)"
  (cd "$WORK/ref-src" && go build -o "$WORK/gatehouse-ref" ./cmd/gatehouse) || die "the build failed (go build ./cmd/gatehouse at $AGAINST)"
fi

# The server takes every flag from GATEHOUSE_* too: drop any from the
# caller's environment so the run measures the defaults (SQLite and files in
# --data) unless BENCH_SERVER_ARGS says otherwise.
while read -r v; do unset "$v"; done < <(compgen -e | grep '^GATEHOUSE_' || true)
GATEHOUSE_INITIAL_ADMIN_PASSWORD="bench-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
export GATEHOUSE_INITIAL_ADMIN_PASSWORD

# start_gatehouse <binary> <name>: starts `gatehouse server` on a free port,
# its data in $WORK/<name> and its log in $WORK/<name>.log, and waits until it
# is ready. Sets STARTED_PID, STARTED_URL, and STARTED_PROXY and
# STARTED_COMPACT (1 when that build has upstream channels, .zst compaction).
start_gatehouse() {
  local bin=$1 name=$2 help port args=()
  help=$("$bin" server --help 2>&1 || true)
  STARTED_PROXY=0 STARTED_COMPACT=0
  # The proxy row follows Gatehouse's own URL on 127.0.0.1, which the
  # upstream guard refuses unless allowed; a build from before upstream
  # channels has neither the flag nor the row.
  if grep -q -- '--upstream-allow' <<<"$help"; then args+=(--upstream-allow 127.0.0.0/8) STARTED_PROXY=1; fi
  # A subdir's .zst is recompressed as one frame once it settles (default
  # 10 s after its last change); a second here, so the copies and the
  # measured file are the compacted one without a long wait.
  if grep -q -- '--repodata-compact-after' <<<"$help"; then args+=(--repodata-compact-after 1s) STARTED_COMPACT=1; fi
  port=$(free_port)
  STARTED_URL="http://127.0.0.1:$port"
  "$bin" server --listen "127.0.0.1:$port" --data "$WORK/$name" "${args[@]}" "${SERVER_ARGS[@]}" >"$WORK/$name.log" 2>&1 &
  STARTED_PID=$!
}

# seed_gatehouse <url> <name>: the seeder's channel, key and packages; its
# shell lines go to $WORK/<name>.env.
seed_gatehouse() {
  log "seeding $1: $PACKAGES small packages and one of 1 MB, 8 uploads at a time"
  "$WORK/seed" -url "$1" -n "$PACKAGES" >"$WORK/$2.env" || {
    tail -n 20 "$WORK/$2.log" >&2
    die "seeding $1 failed"
  }
}

# wait_compacted <url> <auth header>: the fetch of repodata.json built the
# subdir; its compaction is due a second later. Wait until the .zst shrinks
# (at most 30 s).
wait_compacted() {
  local first
  zst_size() { curl -fsSI -H "$2" "$1$REPO/repodata.json.zst" | awk 'tolower($1) == "content-length:" { print $2 + 0 }'; }
  curl -fsS -o /dev/null --max-time 120 -H "$2" "$1$REPO/repodata.json" || die "could not download $REPO/repodata.json from $1"
  first=$(zst_size "$1" "$2")
  for _ in $(seq 60); do
    sleep 0.5
    [ "$(zst_size "$1" "$2")" -lt "$first" ] && break
  done
}

# setup_proxy <url> <auth header>: a public channel holds the small package,
# a proxy channel follows it through that server's own URL, and the file is
# fetched once through the proxy before the load. Only administrators create
# upstream channels (a key lacks the admin scope), so that call signs in.
# Prints the proxied path.
setup_proxy() {
  local url=$1 auth=$2
  curl -fsS --max-time 60 -H "$auth" -H 'Content-Type: application/json' -d '{"name":"bench-up","visibility":"public"}' "$url/api/channels" >/dev/null &&
    curl -fsS --max-time 60 -H "$auth" -F "file=@$NGX/www$REPO/$BENCH_SMALL_FILE" "$url/api/channels/bench-up/packages" >/dev/null &&
    curl -fsS --max-time 60 -u "admin:$GATEHOUSE_INITIAL_ADMIN_PASSWORD" -H 'Content-Type: application/json' -d "{\"name\":\"bench-proxy\",\"visibility\":\"private\",\"upstream\":{\"url\":\"$url/repo/bench-up\",\"mode\":\"proxy\",\"filters\":{\"subdirs\":[\"noarch\"]}}}" "$url/api/channels" >/dev/null ||
    die "could not set up the proxy channel on $url"
  for _ in $(seq 1 100); do
    if curl -fsS -o /dev/null --max-time 10 -H "$auth" "$url/repo/bench-proxy/noarch/$BENCH_SMALL_FILE" 2>/dev/null; then
      echo "/repo/bench-proxy/noarch/$BENCH_SMALL_FILE"
      return 0
    fi
    sleep 0.2
  done
  die "the proxy channel on $url never served $BENCH_SMALL_FILE"
}

if [ -n "$AGAINST" ]; then
  # The seeder's packages are the same bytes on every run, but each server
  # stamps the time it indexed them: so the reference is seeded, stopped,
  # and this build starts on a copy of its data (upgrading it as a release
  # would), and both serve the very same repodata and shards.
  start_gatehouse "$WORK/gatehouse-ref" ref
  REF_PID=$STARTED_PID
  wait_http "$STARTED_URL/readyz" "$REF_PID" "$WORK/ref.log" 60
  seed_gatehouse "$STARTED_URL" ref
  stop "$REF_PID"
  cp -a "$WORK/ref" "$WORK/data"
  cp "$WORK/ref.env" "$WORK/data.env"
  start_gatehouse "$WORK/gatehouse-ref" ref
  REF_PID=$STARTED_PID REF=$STARTED_URL REF_PROXY=$STARTED_PROXY REF_COMPACT=$STARTED_COMPACT
  wait_http "$REF/readyz" "$REF_PID" "$WORK/ref.log" 60
  log "the reference $REF_NAME is ready at $REF (data in $WORK/ref)"
fi
start_gatehouse "$WORK/gatehouse" data
GH_PID=$STARTED_PID GH=$STARTED_URL GH_PROXY=$STARTED_PROXY GH_COMPACT=$STARTED_COMPACT
wait_http "$GH/readyz" "$GH_PID" "$WORK/data.log" 60
log "gatehouse is ready at $GH (data in $WORK/data)"
if [ -z "$AGAINST" ]; then seed_gatehouse "$GH" data; fi
GATEHOUSE_KEY="" BENCH_CHANNEL="" BENCH_SUBDIR="" BENCH_BIG_FILE="" BENCH_SMALL_FILE="" BENCH_PACKAGES=""
# shellcheck source=/dev/null
. "$WORK/data.env"
if [ -z "$GATEHOUSE_KEY" ] || [ -z "$BENCH_BIG_FILE" ]; then die "the seeder printed no key or file name"; fi
AUTH="Authorization: Bearer $GATEHOUSE_KEY"
REPO="/repo/$BENCH_CHANNEL/$BENCH_SUBDIR"

# The same paths under nginx's root as under Gatehouse. In BENCH_AGAINST
# runs nginx does not start, and its root only holds the copies this script
# reads (sizes, record count, the file the proxy channels serve).
mkdir -p "$NGX/www$REPO" "$NGX/tmp"
fetch() { # fetch <file>: copy one file from Gatehouse into nginx's root
  curl -fsS --max-time 120 -H "$AUTH" -o "$NGX/www$REPO/$1" "$GH$REPO/$1"
}
fetch repodata.json || die "could not download $REPO/repodata.json from Gatehouse"
fetch "$BENCH_BIG_FILE" || die "could not download $REPO/$BENCH_BIG_FILE from Gatehouse"
HAVE_ZST=0
if [ "$EXTRA" = 1 ]; then
  if [ "$GH_COMPACT" = 1 ]; then wait_compacted "$GH" "$AUTH"; fi
  if [ -n "$AGAINST" ] && [ "$REF_COMPACT" = 1 ]; then wait_compacted "$REF" "$AUTH"; fi
  if fetch repodata.json.zst 2>/dev/null; then HAVE_ZST=1; fi
fi
if [ "$EXTRA" = 1 ] && [ -n "$BENCH_SMALL_FILE" ]; then
  fetch "$BENCH_SMALL_FILE" || die "could not download $REPO/$BENCH_SMALL_FILE from Gatehouse"
fi
# Sharded repodata (CEP-16): the shard index, and the shard closest to 1 KB
# (the per-request cost clients pay hundreds of times in parallel). One awk
# picks it: "sort | head" would end sort with SIGPIPE on a large channel,
# which pipefail and set -e turn into a silent exit.
SHARD=""
if [ "$EXTRA" = 1 ] && fetch repodata_shards.msgpack.zst 2>/dev/null; then
  SHARD=$(find "$WORK/data/index" -path "*/$BENCH_SUBDIR/shards/*.msgpack.zst" -printf '%s %f\n' 2>/dev/null |
    awk '{ d = $1 - 1024; if (d < 0) d = -d; if (best == "" || d < bd) { bd = d; best = $2 } } END { print best }')
  if [ -n "$SHARD" ]; then
    mkdir -p "$NGX/www$REPO/shards"
    fetch "shards/$SHARD" || die "could not download shard $SHARD from Gatehouse"
  fi
fi
# A proxied package (warm), on each server that has upstream channels.
PROXY_PATH=""
if [ "$EXTRA" = 1 ] && [ -n "$BENCH_SMALL_FILE" ] && [ "$GH_PROXY" = 1 ]; then
  PROXY_PATH=$(setup_proxy "$GH" "$AUTH")
  if [ -n "$AGAINST" ] && [ "$REF_PROXY" = 1 ]; then setup_proxy "$REF" "$AUTH" >/dev/null; fi
  mkdir -p "$NGX/www/repo/bench-proxy/noarch"
  cp "$NGX/www$REPO/$BENCH_SMALL_FILE" "$NGX/www$PROXY_PATH"
fi
chmod -R a+rX "$NGX"
# Records are the keys ending in .conda, less the "packages.conda" map key.
RECORDS=$(($(grep -o '\.conda": *{' "$NGX/www$REPO/repodata.json" | wc -l) -
  $(grep -o '"packages\.conda": *{' "$NGX/www$REPO/repodata.json" | wc -l)))
REPODATA_BYTES=$(stat -c %s "$NGX/www$REPO/repodata.json")
BIG_BYTES=$(stat -c %s "$NGX/www$REPO/$BENCH_BIG_FILE")
log "repodata.json: $RECORDS records, $REPODATA_BYTES bytes; $BENCH_BIG_FILE: $BIG_BYTES bytes"
((RECORDS == BENCH_PACKAGES)) || log "WARNING: repodata.json lists $RECORDS packages, the seeder uploaded $BENCH_PACKAGES"

start_nginx() {
NGX_PORT=$(free_port)
NG="http://127.0.0.1:$NGX_PORT"
NGX_USER=""
if [ "$(id -u)" = 0 ]; then NGX_USER="user nobody $(id -gn nobody);"; fi
cat >"$NGX/nginx.conf" <<EOF
# Generated by bench/run.sh: static files, no auth, nothing outside $NGX.
$NGX_USER
daemon off;
worker_processes auto;
pid $NGX/nginx.pid;
error_log $NGX/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    # Go keeps a connection for any number of requests; so does this.
    keepalive_requests 1000000;
    types { application/json json; application/octet-stream conda; application/zstd zst; }
    default_type application/octet-stream;
    client_body_temp_path $NGX/tmp/body;
    proxy_temp_path $NGX/tmp/proxy;
    fastcgi_temp_path $NGX/tmp/fastcgi;
    uwsgi_temp_path $NGX/tmp/uwsgi;
    scgi_temp_path $NGX/tmp/scgi;
    server {
        listen 127.0.0.1:$NGX_PORT;
        root $NGX/www;
    }
}
EOF
"$NGINX" -t -q -p "$NGX" -e "$NGX/error.log" -c "$NGX/nginx.conf" || die "nginx refused the generated config $NGX/nginx.conf"
"$NGINX" -p "$NGX" -e "$NGX/error.log" -c "$NGX/nginx.conf" >"$NGX/stdout.log" 2>&1 &
NGX_PID=$!
wait_http "$NG$REPO/repodata.json" "$NGX_PID" "$NGX/error.log" 10
log "nginx is ready at $NG"
}
if [ -n "$AGAINST" ]; then NG=$REF; else start_nginx; fi

# Both servers must answer the very same bytes to the very same request, or
# the comparison means nothing. Against nginx that is a failed setup; another
# revision may lack a file or encode it differently, and that row is skipped.
same_bytes() {
  local path=$1 a b
  a=$(curl -fsS --max-time 60 -H "$AUTH" "$NG$path" | sha256sum) || a="no answer"
  b=$(curl -fsS --max-time 60 -H "$AUTH" "$GH$path" | sha256sum)
  [ "$a" = "$b" ] && return 0
  [ -n "$AGAINST" ] || die "nginx and Gatehouse answer different bytes for $path"
  log "skipping $path: $REF_NAME answers it differently ($a)"
  return 1
}

TARGETS=("package|$REPO/$BENCH_BIG_FILE|$BENCH_BIG_FILE ($BIG_BYTES bytes)"
  "repodata|$REPO/repodata.json|repodata.json ($RECORDS records, $REPODATA_BYTES bytes)")
if ((HAVE_ZST)); then
  TARGETS+=("repodata-zst|$REPO/repodata.json.zst|extra: repodata.json.zst ($(stat -c %s "$NGX/www$REPO/repodata.json.zst") bytes)")
fi
if [ "$EXTRA" = 1 ] && [ -n "$BENCH_SMALL_FILE" ]; then
  TARGETS+=("small|$REPO/$BENCH_SMALL_FILE|extra: small package ($(stat -c %s "$NGX/www$REPO/$BENCH_SMALL_FILE") bytes)")
fi
if [ -f "$NGX/www$REPO/repodata_shards.msgpack.zst" ]; then
  TARGETS+=("shard-index|$REPO/repodata_shards.msgpack.zst|shard index ($(stat -c %s "$NGX/www$REPO/repodata_shards.msgpack.zst") bytes)")
fi
if [ -n "$SHARD" ]; then
  TARGETS+=("shard|$REPO/shards/$SHARD|shard ($(stat -c %s "$NGX/www$REPO/shards/$SHARD") bytes)")
fi
if [ -n "$PROXY_PATH" ]; then
  TARGETS+=("proxied|$PROXY_PATH|proxied package, warm ($(stat -c %s "$NGX/www$PROXY_PATH") bytes)")
fi

# wrk_run <out> <url> <duration>: the same options and headers for both
# servers; the key header is sent to nginx too (which ignores it) so that
# the requests are byte for byte the same size. No Accept-Encoding.
wrk_run() {
  local out=$1 url=$2 d=$3
  timeout $(($(seconds "$d") + 60)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"$d" --latency -H "$AUTH" "$url" >"$out" 2>&1 ||
    { cat "$out" >&2; die "wrk failed on $url"; }
}

# to_ms converts wrk's latency (850.00us, 1.25ms, 1.02s, 1.10m) to ms.
to_ms() {
  awk -v v="$1" 'BEGIN { n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
    printf "%.2f", n }'
}
# wrk_problems prints the non-2xx count and socket errors wrk reported.
wrk_problems() {
  grep -E 'Non-2xx or 3xx responses|Socket errors' "$1" | sed 's/^ *//' | paste -sd ';' - || true
}

# median prints the median of the numbers on stdin.
median() {
  sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else printf "%.2f\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
rps() { awk '/^Requests\/sec:/ { print $2 }' "$1"; }
p99() { to_ms "$(awk '$1 == "99%" { print $2 }' "$1")"; }

# Other work on the machine moves the numbers from one run to the next, so
# each target is measured in ROUNDS paired rounds, alternating which server
# goes first, and judged on the median of the per-round ratios.
log "load: $ROUNDS rounds of wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency per server and target (warm-up $WARMUP); load average $(cut -d' ' -f1-3 /proc/loadavg)"
ROWS=()
for t in "${TARGETS[@]}"; do
  IFS='|' read -r id path label <<<"$t"
  same_bytes "$path" || continue
  for ((round = 1; round <= ROUNDS; round++)); do
    order=(nginx gatehouse)
    ((round % 2)) || order=(gatehouse nginx)
    for server in "${order[@]}"; do
      base=$NG
      [ "$server" = gatehouse ] && base=$GH
      if ((round == 1 && WARMUP_S > 0)); then wrk_run "$WORK/warm-$id-$server.txt" "$base$path" "$WARMUP"; fi
      perf_pid=""
      if [ "$PROFILE" = 1 ] && [ "$server" = gatehouse ] && ((round == 1)); then
        perf record -q -F 999 -g -p "$GH_PID" -o "$WORK/perf-$id.data" -- sleep "$DURATION_S" >"$WORK/perf-$id.log" 2>&1 &
        perf_pid=$!
      fi
      wrk_run "$WORK/wrk-$id-$server-$round.txt" "$base$path" "$DURATION"
      if [ -n "$perf_pid" ]; then wait "$perf_pid" || log "perf record failed on $id: $(tail -n 3 "$WORK/perf-$id.log")"; fi
    done
  done
  ROWS+=("$id|$label")
done

printf '\n%s\n' "Gatehouse vs $REF_NAME, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%s\n' "wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $ROUNDS rounds; medians; PASS when the median Gatehouse/$REF_NAME requests/s ratio >= $TARGET"
w=$(((${#REF_NAME} > 5 ? ${#REF_NAME} : 5) + 6))
fmt="%-50s %${w}s %11s %6s %11s %${w}s %10s  %s\n"
# shellcheck disable=SC2059
printf "$fmt" target "$REF_NAME req/s" "gh req/s" ratio "(range)" "$REF_NAME p99" "gh p99" verdict
DETAILS=""
for r in "${ROWS[@]}"; do
  IFS='|' read -r id label <<<"$r"
  problems="" ratios=() nrs=() grs=() nps=() gps=()
  for ((round = 1; round <= ROUNDS; round++)); do
    n=$WORK/wrk-$id-nginx-$round.txt g=$WORK/wrk-$id-gatehouse-$round.txt
    nrs+=("$(rps "$n")") grs+=("$(rps "$g")") nps+=("$(p99 "$n")") gps+=("$(p99 "$g")")
    ratios+=("$(awk -v a="${grs[-1]}" -v b="${nrs[-1]}" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print 0 }')")
    problems+="$(wrk_problems "$n")$(wrk_problems "$g")"
    DETAILS+=$(printf '  %-13s round %d: %s %9s req/s p99 %8sms %9s/s | gatehouse %9s req/s p99 %8sms %9s/s | ratio %s' \
      "$id" "$round" "$REF_NAME" "${nrs[-1]}" "${nps[-1]}" "$(awk '/^Transfer\/sec:/ { print $2 }' "$n")" \
      "${grs[-1]}" "${gps[-1]}" "$(awk '/^Transfer\/sec:/ { print $2 }' "$g")" "${ratios[-1]}")$'\n'
  done
  ratio=$(printf '%s\n' "${ratios[@]}" | median)
  range=$(printf '%s\n' "${ratios[@]}" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.2f-%.2f", lo, hi }')
  verdict=$(awk -v r="$ratio" -v t="$TARGET" 'BEGIN { print (r + 0 >= t + 0) ? "PASS" : "BELOW TARGET" }')
  [ -z "$problems" ] || verdict="INVALID ($problems)"
  # shellcheck disable=SC2059
  printf "$fmt" "$label" "$(printf '%s\n' "${nrs[@]}" | median)" "$(printf '%s\n' "${grs[@]}" | median)" \
    "$ratio" "$range" "$(printf '%s\n' "${nps[@]}" | median)ms" "$(printf '%s\n' "${gps[@]}" | median)ms" "$verdict"
done
printf '\nPer round (requests/s, p99, transfer/s):\n%s' "$DETAILS"

# Where Gatehouse's CPU time went: the functions holding the most samples
# (self), then the share of samples under the functions that matter most
# here (children: the function and what it calls).
if [ "$PROFILE" = 1 ]; then
  PROFILE_DIR=${BENCH_PROFILE_DIR:-${TMPDIR:-/tmp}/gatehouse-bench-profile}
  mkdir -p "$PROFILE_DIR"
  for r in "${ROWS[@]}"; do
    IFS='|' read -r id label <<<"$r"
    [ -s "$WORK/perf-$id.data" ] || continue
    printf '\nGatehouse CPU profile, %s (perf, round 1), self time:\n' "$label"
    perf report -i "$WORK/perf-$id.data" --no-children --stdio --sort dso,symbol -g none --percent-limit 1 2>/dev/null |
      grep -E '^ +[0-9]' | sed -E 's/[[:space:]]+-[[:space:]]+-[[:space:]]*$//' | head -n 25
    printf 'including callees:\n'
    perf report -i "$WORK/perf-$id.data" --children --stdio --sort symbol -g none --percent-limit 3 2>/dev/null |
      grep -E '^ +[0-9]' | sed -E 's/[[:space:]]+-[[:space:]]+-[[:space:]]*$//' | grep -E 'gatehouse|net/http|slog|syscall|runtime\.(mallocgc|gcBgMarkWorker|findRunnable)|crypto|sqlite|prometheus|Write|Read' | head -n 40
    cp "$WORK/perf-$id.data" "$PROFILE_DIR/perf-$id.data"
  done
  printf '\nperf data kept in %s (perf report -i %s/perf-<row>.data)\n' "$PROFILE_DIR" "$PROFILE_DIR"
fi
exit 0
