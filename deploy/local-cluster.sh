#!/usr/bin/env bash
# A local Postgres failover cluster on 127.0.0.1 only: one etcd and two Patroni-managed
# PostgreSQL nodes streaming to each other, for trying failover and for the failover test.
#
#   deploy/local-cluster.sh start DIR BASEPORT   # prints the multi-host DATABASE_URL
#   deploy/local-cluster.sh stop DIR             # stops everything it started in DIR
#
# Ports: etcd BASEPORT (client) and BASEPORT+1 (peer); Postgres BASEPORT+2 and +3; the
# nodes' Patroni REST APIs BASEPORT+4 and +5. Everything (data, configuration, logs, pid
# files) lives in DIR. Loopback connections are trusted: a test cluster, not a deployment.
#
# synchronous_mode: a commit is acknowledged only once the standby has it, and only that
# standby may be promoted, so nothing acknowledged is lost when the primary is killed.
# primary_start_timeout 0: a crashed primary fails over at once instead of being restarted
# in place. Roster follows the new primary by itself through the URL's host list and
# target_session_attrs=read-write.
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
WAIT_SECONDS=${WAIT_SECONDS:-90}
NODES=(node1 node2)

usage() {
  echo "usage: $0 start DIR BASEPORT | stop DIR" >&2
  exit 2
}
say() { echo "local-cluster: $*" >&2; }
die() {
  say "$*"
  exit 1
}
root() { [ "$(id -u)" -eq 0 ]; }
as_root() { if root; then "$@"; else sudo "$@"; fi; }
# initdb refuses root: as root, the cluster runs as the postgres OS user.
as_owner() { if root; then runuser -u postgres -- "$@"; else "$@"; fi; }
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
pid_in() { if [ -s "$1" ]; then head -n 1 "$1" | tr -dc 0-9; fi; }

install() {
  local missing=()
  command -v patroni >/dev/null 2>&1 || missing+=(patroni)
  command -v etcd >/dev/null 2>&1 || missing+=(etcd-server)
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  [ -x "$PG_BIN/postgres" ] || missing+=(postgresql-15)
  [ ${#missing[@]} -eq 0 ] && return
  say "installing ${missing[*]} (apt-get)"
  as_root apt-get update -qq || die "apt-get update failed"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null ||
    die "apt-get install ${missing[*]} failed"
  if ! command -v patroni >/dev/null 2>&1 || ! command -v etcd >/dev/null 2>&1 || [ ! -x "$PG_BIN/postgres" ]; then
    die "patroni, etcd or $PG_BIN/postgres still missing after installing"
  fi
}

# `program args...` in the background as the cluster's owner; its pid (the program's own:
# exec keeps it) in DIR/name.pid, its output in DIR/name.log.
spawn() {
  local name=$1
  shift
  if alive "$(pid_in "$DIR/$name.pid")"; then return; fi
  # Detached from this script's output, so a caller reading it sees its end. The inner
  # shell expands $$ (its own pid, kept by exec).
  # shellcheck disable=SC2016
  (cd "$DIR" && as_owner sh -c 'echo $$ >"$0.pid"; exec "$@" >>"$0.log" 2>&1' "$DIR/$name" "$@") \
    </dev/null >/dev/null 2>&1 &
  for _ in $(seq 1 50); do
    if alive "$(pid_in "$DIR/$name.pid")"; then return; fi
    sleep 0.1
  done
  die "$name did not start; see $DIR/$name.log"
}

http_status() { curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1" || true; }

node_config() {
  local name=$1 pg_port=$2 api_port=$3
  cat <<EOF
scope: roster-local
name: $name
log:
  level: INFO
restapi:
  listen: 127.0.0.1:$api_port
  connect_address: 127.0.0.1:$api_port
etcd3:
  hosts: 127.0.0.1:$BASEPORT
bootstrap:
  dcs:
    # Seconds: the leader key lapses 10 s after its holder stops renewing it; each node
    # looks every second. Patroni needs loop_wait + 2 * retry_timeout <= ttl.
    ttl: 10
    loop_wait: 1
    retry_timeout: 4
    primary_start_timeout: 0
    synchronous_mode: true
    synchronous_mode_strict: false
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        wal_level: replica
        hot_standby: "on"
        wal_log_hints: "on"
        max_wal_senders: 5
        max_replication_slots: 5
  initdb:
    - encoding: UTF8
    - auth: trust
postgresql:
  listen: 127.0.0.1:$pg_port
  connect_address: 127.0.0.1:$pg_port
  data_dir: $DIR/$name
  bin_dir: $PG_BIN
  pgpass: $DIR/$name.pgpass
  authentication:
    superuser:
      username: postgres
    replication:
      username: postgres
    rewind:
      username: postgres
  parameters:
    unix_socket_directories: $DIR
    max_connections: 200
  pg_hba:
    - local all all trust
    - host all all 127.0.0.1/32 trust
    - host replication all 127.0.0.1/32 trust
EOF
}

start() {
  install
  mkdir -p "$DIR"
  DIR=$(cd "$DIR" && pwd)
  if root; then chown postgres:postgres "$DIR"; fi
  chmod 700 "$DIR"
  local client=$BASEPORT peer=$((BASEPORT + 1))
  spawn etcd etcd --name local --data-dir "$DIR/etcd" \
    --listen-client-urls "http://127.0.0.1:$client" --advertise-client-urls "http://127.0.0.1:$client" \
    --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
    --initial-cluster "local=http://127.0.0.1:$peer" --initial-cluster-state new
  local deadline=$((SECONDS + 30))
  until curl -s --max-time 2 "http://127.0.0.1:$client/health" | grep -q '"health":"true"'; do
    [ $SECONDS -lt $deadline ] || die "etcd is not healthy after 30 s; see $DIR/etcd.log"
    sleep 0.5
  done
  local i
  for i in 0 1; do
    local name=${NODES[$i]}
    node_config "$name" $((BASEPORT + 2 + i)) $((BASEPORT + 4 + i)) | as_owner tee "$DIR/$name.yml" >/dev/null
    spawn "$name" patroni "$DIR/$name.yml"
  done
  say "waiting (at most ${WAIT_SECONDS} s) for a primary and a synchronous standby"
  deadline=$((SECONDS + WAIT_SECONDS))
  local primary="" sync=""
  while [ -z "$primary" ] || [ -z "$sync" ]; do
    [ $SECONDS -lt $deadline ] || {
      tail -n 20 "$DIR"/node*.log >&2 || true
      die "no primary with a synchronous standby after ${WAIT_SECONDS} s; logs in $DIR"
    }
    sleep 1
    primary="" sync=""
    for i in 0 1; do
      local api="http://127.0.0.1:$((BASEPORT + 4 + i))"
      if [ "$(http_status "$api/primary")" = 200 ]; then primary=${NODES[$i]}; fi
      if [ "$(http_status "$api/sync")" = 200 ]; then sync=${NODES[$i]}; fi
    done
  done
  say "primary $primary, synchronous standby $sync"
  echo "postgres://postgres@127.0.0.1:$((BASEPORT + 2)),127.0.0.1:$((BASEPORT + 3))/postgres?target_session_attrs=read-write"
}

signal() {
  local pid
  pid=$(pid_in "$1")
  if alive "$pid"; then kill "-$2" "$pid" 2>/dev/null || true; fi
}

# Waits (at most $2 seconds) until the process of pid file $1 has ended.
gone() {
  local pid
  pid=$(pid_in "$1")
  for _ in $(seq 1 $(($2 * 10))); do
    if ! alive "$pid"; then return 0; fi
    sleep 0.1
  done
  ! alive "$pid"
}

# Ends the process of pid file $1: SIGTERM, then SIGKILL after $2 seconds.
end() {
  signal "$1" TERM
  gone "$1" "$2" && return
  signal "$1" KILL
  gone "$1" 5
}

stop() {
  [ -d "$DIR" ] || die "no cluster directory $DIR"
  DIR=$(cd "$DIR" && pwd)
  local name
  # Patroni stops its Postgres on SIGTERM; a node stuck on that is killed.
  for name in "${NODES[@]}"; do signal "$DIR/$name.pid" TERM; done
  for name in "${NODES[@]}"; do end "$DIR/$name.pid" 30 || true; done
  for name in "${NODES[@]}"; do
    local postmaster
    postmaster=$(pid_in "$DIR/$name/postmaster.pid")
    if alive "$postmaster" && [ "$(cat "/proc/$postmaster/comm" 2>/dev/null)" = postgres ]; then
      as_owner "$PG_BIN/pg_ctl" stop -D "$DIR/$name" -m immediate -w -t 10 >/dev/null 2>&1 ||
        kill -9 "$postmaster" 2>/dev/null || true
    fi
  done
  end "$DIR/etcd.pid" 10 || true
  local left=()
  for name in etcd "${NODES[@]}"; do
    if alive "$(pid_in "$DIR/$name.pid")"; then left+=("$name"); fi
  done
  [ ${#left[@]} -eq 0 ] || die "still running: ${left[*]}"
  rm -f "$DIR"/*.pid
  say "stopped"
}

case "${1:-}" in
  start)
    [ $# -eq 3 ] || usage
    DIR=$2 BASEPORT=$3
    if ! [[ $BASEPORT =~ ^[0-9]+$ ]] || [ "$BASEPORT" -lt 1024 ] || [ "$BASEPORT" -gt 65530 ]; then
      die "BASEPORT must be a number from 1024 to 65530"
    fi
    start
    ;;
  stop)
    [ $# -eq 2 ] || usage
    DIR=$2
    stop
    ;;
  *) usage ;;
esac
