#!/usr/bin/env bash
# The replicated deployment on one machine, on loopback ports, with the topology of a multi-host installation
# (README "Replicated deployment"). Called as `bin/cityops cluster start|stop|status|revive|backup|destroy`.
#   host a, host b  each: etcd, Patroni (+ its PostgreSQL), Redis, Sentinel, a web node, a JT/T 808 ingest node,
#                   a JT/T 809 link node
#   host c          the witness and the front: etcd, Sentinel, HAProxy
# Everything lives under var/cluster/ (git-ignored). Each "host" runs its processes under its own supervisord
# (the configuration pieces of bin/cityops, which exports them), which restarts a process that dies; `revive`
# starts a host whose supervisord is gone (the drills use it to bring a killed "host" back).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
TEMPLATES="$ROOT/deploy/cluster"
export CLUSTER="$ROOT/var/cluster"
RUN="$CLUSTER/run"
LOG="$CLUSTER/log"
CONF="$CLUSTER/conf"

# Port block 57xxx (the single-node servers use 55432/56379/8000/6808).
export HAPROXY_WEB_PORT="${CITYOPS_CLUSTER_WEB_PORT:-57000}" HAPROXY_JT808_PORT="${CITYOPS_CLUSTER_JT808_PORT:-57808}"
export HAPROXY_JT809_PORT="${CITYOPS_CLUSTER_JT809_PORT:-57809}"
export HAPROXY_PG_PORT=57400 HAPROXY_REDIS_PORT=57600 HAPROXY_STATS_PORT=57999
export PG_A_PORT=57431 PG_B_PORT=57432 REST_A_PORT=57801 REST_B_PORT=57802
export REDIS_A_PORT=57631 REDIS_B_PORT=57632
export WEB_A_PORT=57101 WEB_B_PORT=57102 INGEST_A_PORT=57111 INGEST_B_PORT=57112 JT809_A_PORT=57121 JT809_B_PORT=57122
declare -A ETCD_CLIENT=([a]=57231 [b]=57232 [c]=57233) ETCD_PEER=([a]=57241 [b]=57242 [c]=57243)
declare -A SENTINEL=([a]=57261 [b]=57262 [c]=57263)
declare -A PG=([a]=$PG_A_PORT [b]=$PG_B_PORT) REST=([a]=$REST_A_PORT [b]=$REST_B_PORT)
declare -A REDIS=([a]=$REDIS_A_PORT [b]=$REDIS_B_PORT) WEB=([a]=$WEB_A_PORT [b]=$WEB_B_PORT)
declare -A INGEST=([a]=$INGEST_A_PORT [b]=$INGEST_B_PORT) JT809=([a]=$JT809_A_PORT [b]=$JT809_B_PORT)
export ETCD_HOSTS="127.0.0.1:57231,127.0.0.1:57232,127.0.0.1:57233"
export ETCD_INITIAL_CLUSTER="a=http://127.0.0.1:57241,b=http://127.0.0.1:57242,c=http://127.0.0.1:57243"

# What the web and ingest nodes connect to: always HAProxy, never a database or Redis node directly.
export DATABASE_URL="postgis://cityops@127.0.0.1:$HAPROXY_PG_PORT/cityops"
export REDIS_URL="redis://127.0.0.1:$HAPROXY_REDIS_PORT/0"
export CITYOPS_HAPROXY_STATS_URL="http://127.0.0.1:$HAPROXY_STATS_PORT/"  # system health reads the nodes from it
export PYTHONPATH="$ROOT/platform:$ROOT" CITYOPS_VAR_DIR="$CLUSTER/shared"
PSQL=(/usr/lib/postgresql/15/bin/psql -h 127.0.0.1 -p "$HAPROXY_PG_PORT" -U cityops -v ON_ERROR_STOP=1 -qAt)

log() { printf '\033[1;34m[cluster]\033[0m %s\n' "$*"; }
die() { printf '\033[1;31m[cluster] %s\033[0m\n' "$*" >&2; exit 1; }
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
HOSTS=(a b c)
wait_for() { # seconds, then a command that succeeds when ready
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do [ $SECONDS -lt $deadline ] || return 1; sleep 0.3; done
}

render() { # template, output, extra VAR=value...
  local template="$1" out="$2"; shift 2
  env "$@" envsubst <"$TEMPLATES/$template" >"$out"
}

render_configs() {
  mkdir -p "$RUN" "$LOG" "$CONF" "$CLUSTER/shared" "$CLUSTER/backup" "$CLUSTER"/{a,b,c}/{run,log,redis}
  for node in a b c; do
    render etcd.yml "$CONF/etcd-$node.yml" NODE=$node ETCD_CLIENT_PORT="${ETCD_CLIENT[$node]}" \
      ETCD_PEER_PORT="${ETCD_PEER[$node]}"
    # Sentinel and Redis rewrite their own files as masters move: rendered once, kept afterwards.
    [ -f "$CONF/sentinel-$node.conf" ] ||
      render sentinel.conf "$CONF/sentinel-$node.conf" NODE=$node SENTINEL_PORT="${SENTINEL[$node]}"
  done
  for node in a b; do
    render patroni.yml "$CONF/patroni-$node.yml" NODE=$node PG_PORT="${PG[$node]}" REST_PORT="${REST[$node]}"
    local replicaof=""; [ $node = b ] && replicaof="replicaof 127.0.0.1 $REDIS_A_PORT"
    [ -f "$CONF/redis-$node.conf" ] ||
      render redis.conf "$CONF/redis-$node.conf" NODE=$node REDIS_PORT="${REDIS[$node]}" REPLICAOF="$replicaof"
  done
  render pgbackrest.conf "$CONF/pgbackrest.conf"
  cp "$CONF/pgbackrest.conf" "$CLUSTER/pgbackrest.conf"
  render haproxy.cfg "$CONF/haproxy.cfg"
  if [ "$(id -u)" = 0 ]; then chown -R postgres:postgres "$CLUSTER"; fi
  chmod 700 "$CLUSTER"/{a,b}
}

supervisorctl() { local host="$1"; shift; .venv/bin/supervisorctl -c "$CLUSTER/$host/supervisord.conf" "$@"; }
supervisord_running() { [ -f "$CLUSTER/$1/run/supervisord.pid" ] && process_running "$(cat "$CLUSTER/$1/run/supervisord.pid")"; }

# One host's supervisord: its programs, restarted at once when they die. The web and ingest nodes inherit
# DATABASE_URL/REDIS_URL (HAProxy) from this script's environment.
host_supervisor_conf() {
  local host="$1" user=()
  if [ "$(id -u)" = 0 ]; then user=(user=postgres); fi
  supervisor_daemon "$CLUSTER/$host"
  supervisor_program program etcd "etcd --config-file $CONF/etcd-$host.yml" "stdout_logfile=$LOG/etcd-$host.log"
  supervisor_program program sentinel "redis-sentinel $CONF/sentinel-$host.conf --daemonize no" \
    "stdout_logfile=$LOG/sentinel-$host.log"
  if [ "$host" = c ]; then
    supervisor_program program haproxy "haproxy -db -f $CONF/haproxy.cfg" "stdout_logfile=$LOG/haproxy.log"
    return
  fi
  # Patroni is Debian's (system Python): the project's PYTHONPATH is kept out of it. It runs as postgres.
  supervisor_program program patroni "patroni $CONF/patroni-$host.yml" "${user[@]}" 'environment=PYTHONPATH=""' \
    "stdout_logfile=$LOG/patroni-$host.log"
  supervisor_program program redis "$TEMPLATES/cluster.sh redis-server $host" "stdout_logfile=$LOG/redis-$host.log"
  # No per-message deflate, as bin/cityops start runs the web.
  supervisor_program program web "$ROOT/.venv/bin/uvicorn cityops.asgi:application --host 127.0.0.1 \
--port ${WEB[$host]} --ws websockets --ws-per-message-deflate false" 'environment=CITYOPS_DB_POOL="1"' \
    "stdout_logfile=$LOG/web-$host.log"
  supervisor_program program ingest "$ROOT/.venv/bin/python manage.py run_gps_ingest --host 127.0.0.1 \
--port ${INGEST[$host]}" 'environment=CITYOPS_JT808_TRUSTED_PROXIES="127.0.0.1"' "stdout_logfile=$LOG/ingest-$host.log"
  # The JT/T 809 main link behind HAProxy like the ingest; the sub link to a platform leaves from the host that
  # holds its main link, straight to the platform's DOWN_LINK_IP:PORT (README "Key vehicles and JT/T 809").
  supervisor_program program jt809-link "$ROOT/.venv/bin/python manage.py run_jt809_link --host 127.0.0.1 \
--port ${JT809[$host]}" 'environment=CITYOPS_JT809_TRUSTED_PROXIES="127.0.0.1"' "stdout_logfile=$LOG/jt809-link-$host.log"
  # Background imports: a worker per host; a job whose host dies is run again by another (core/jobs.py).
  supervisor_program program jobs-worker "$ROOT/.venv/bin/python manage.py procrastinate worker" \
    "stdout_logfile=$LOG/jobs-worker-$host.log"
  supervisor_program program notify-worker "$ROOT/.venv/bin/python manage.py procrastinate worker --queues notices,exchange" \
    "stdout_logfile=$LOG/notify-worker-$host.log"
  # Case timers and the trouble alarm on each host: the sweep locks each case it turns, and the watchers re-read
  # what was announced under the event log's lock, so two of them repeat nothing.
  supervisor_program program case-timers "$ROOT/.venv/bin/python manage.py sweep_overdue_cases --every 60" \
    "stdout_logfile=$LOG/case-timers-$host.log"
}

sentinel_master_port() { # the Redis master the sentinels agree on, if any answers
  local port
  for port in "${SENTINEL[@]}"; do
    redis-cli -p "$port" sentinel get-master-addr-by-name cityops 2>/dev/null | sed -n 2p | grep . && return
  done
  return 1
}

# Redis of a host, in the foreground for supervisord. A node coming back while the other is master starts as its
# replica at once instead of as a second master until Sentinel notices (Sentinel made the choice: this reads it).
redis_server() {
  local master extra=()
  master="$(sentinel_master_port || true)"
  if [ -n "$master" ] && [ "$master" != "${REDIS[$1]}" ]; then extra=(--replicaof 127.0.0.1 "$master"); fi
  exec redis-server "$CONF/redis-$1.conf" --daemonize no "${extra[@]}"
}

# Starts the supervisord of every host that has none running, and whatever program of a running one is stopped.
revive() {
  declare -F supervisor_program >/dev/null || die "run it as bin/cityops cluster …"
  for host in "${HOSTS[@]}"; do
    host_supervisor_conf "$host" >"$CLUSTER/$host/supervisord.conf"
    if supervisord_running "$host"; then
      supervisorctl "$host" start all >/dev/null || true
    else
      .venv/bin/supervisord -c "$CLUSTER/$host/supervisord.conf"
    fi
  done
}

primary_reachable() { "${PSQL[@]}" -d postgres -c "SELECT NOT pg_is_in_recovery()" | grep -q t; }

start() {
  command -v patroni >/dev/null || die "Debian packages missing: run through bin/cityops cluster start"
  render_configs
  log "starting hosts a, b (etcd, Patroni, Redis, Sentinel, web, ingest, jt809-link) and c (etcd, Sentinel, HAProxy)"
  revive
  wait_for 90 primary_reachable || die "no PostgreSQL primary behind HAProxy; see var/cluster/log/patroni-*.log"
  if [ -z "$("${PSQL[@]}" -d postgres -c "SELECT 1 FROM pg_database WHERE datname='cityops'")" ]; then
    "${PSQL[@]}" -d postgres -c "CREATE DATABASE cityops"
  fi
  if [ ! -f "$CLUSTER/backup/backup/cityops/backup.info" ]; then
    log "pgBackRest: creating the stanza and the first full backup"
    as_postgres pgbackrest --config="$CLUSTER/pgbackrest.conf" --stanza=cityops stanza-create
    backup
  fi
  wait_for 30 redis-cli -p "$HAPROXY_REDIS_PORT" ping || die "no Redis master behind HAProxy"
  .venv/bin/python manage.py migrate --noinput -v 0
  .venv/bin/python manage.py load_demo_city --scale "${CITYOPS_DEMO_SCALE:-small}" --if-empty
  wait_for 60 curl -fs "http://127.0.0.1:$HAPROXY_WEB_PORT/healthz" || die "web nodes did not come up"
  log "cluster running"
  cat <<MSG

  Web + WebSocket     http://127.0.0.1:$HAPROXY_WEB_PORT/   (ws://127.0.0.1:$HAPROXY_WEB_PORT/ws/ops/)
  GPS (JT/T 808 TCP)  127.0.0.1:$HAPROXY_JT808_PORT
  JT/T 809 main link  127.0.0.1:$HAPROXY_JT809_PORT
  PostgreSQL primary  $DATABASE_URL
  Redis master        $REDIS_URL
  HAProxy stats       http://127.0.0.1:$HAPROXY_STATS_PORT/

MSG
}

backup() { # a base backup (full the first time, then incremental) of the current primary
  as_postgres pgbackrest --config="$CLUSTER/pgbackrest.conf" --stanza=cityops --type="${1:-incr}" backup
}

stop() {
  for host in a b c; do
    if supervisord_running "$host"; then
      local pid; pid="$(cat "$CLUSTER/$host/run/supervisord.pid")"
      kill "$pid"
      for _ in $(seq 150); do process_running "$pid" || break; sleep 0.2; done
    fi
  done
  log "cluster stopped (data kept in var/cluster; \`bin/cityops cluster destroy\` removes it)"
}

status() {
  for host in a b c; do
    if supervisord_running "$host"; then { supervisorctl "$host" status || true; } | sed "s/^/$host: /"; else echo "$host: down"; fi
  done
  echo "redis master (sentinel): 127.0.0.1:$(sentinel_master_port || echo '?')"
  timeout 10 env -u PYTHONPATH patronictl -c "$CONF/patroni-a.yml" list 2>/dev/null || true
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  revive) render_configs; revive ;;
  redis-server) redis_server "$2" ;;
  backup) shift; backup "$@" ;;
  destroy) stop; rm -rf "$CLUSTER"; log "removed var/cluster" ;;
  *) echo "usage: bin/cityops cluster start|stop|status|revive|backup [full|diff|incr]|destroy" >&2; exit 2 ;;
esac
