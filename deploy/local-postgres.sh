#!/usr/bin/env bash
# Installs (Debian/Ubuntu) and starts a local PostgreSQL that trusts the postgres user over
# TCP on 127.0.0.1:5432: the database `roster serve` and the tests use by default.
# Safe to run again: a Postgres already answering there is left as it is.
set -euo pipefail

ready() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
trusted() { psql -h 127.0.0.1 -p 5432 -U postgres -w -d postgres -qtAc 'SELECT 1' >/dev/null 2>&1; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ready && trusted; then
  echo "postgres: ready on 127.0.0.1:5432"
  exit 0
fi

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "postgres: installing (apt-get install postgresql)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  # A cluster of our own making: trust local connections, as a development database may.
  hba=$(ls /etc/postgresql/*/main/pg_hba.conf | head -n 1)
  printf 'local all all trust\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n' \
    | as_root tee "$hba" >/dev/null
fi

version=$(ls /etc/postgresql | sort -n | tail -n 1)
if ! ready; then
  echo "postgres: starting cluster $version/main"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 30); do ready && break; sleep 1; done
fi
ready || { echo "postgres: not accepting connections on 127.0.0.1:5432" >&2; exit 1; }
if ! trusted; then
  hba=$(ls /etc/postgresql/"$version"/main/pg_hba.conf)
  echo "postgres: runs, but does not trust user postgres over TCP. Add to $hba, then reload:" >&2
  echo "  host all postgres 127.0.0.1/32 trust" >&2
  echo "or point DATABASE_URL at a user and password (README, Configuration)." >&2
  exit 1
fi
echo "postgres: ready on 127.0.0.1:5432"
