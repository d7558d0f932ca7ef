#!/usr/bin/env bash
# Fault drills on a private Redis (port 6390) and a private PostgreSQL cluster (port 5440), so
# restarting them never disturbs anything else on the machine.
#   benchmarks/drills/fault_drills.sh            # set up, start the stack, run the drills, clean up
# Subcommands used by the driver: redis-start | pg-stop | pg-start
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
DRILL=${DRILL_DIR:-$ROOT/var/drills}
REDIS_PORT=${DRILL_REDIS_PORT:-6390}
PG_PORT=${DRILL_PG_PORT:-5440}
PGDATA=${DRILL_PGDATA:-/tmp/portal-drill-pg}
PGBIN=$(dirname "$(readlink -f "$(command -v pg_ctl)")")
export STACK_DIR=$DRILL/stack STACK_PORT=8766 STACK_DB=portal_drill
export PG="postgres://postgres@127.0.0.1:$PG_PORT" REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
export DATABASE_URL="$PG/$STACK_DB"
# The driver's `manage.py ingest` must store uploads where the stack's worker reads them.
export PORTAL_DATA_DIR="$STACK_DIR/data"
# Short redelivery so a task held by a killed worker comes back within the drill (production:
# 3600 s). The stuck-job threshold must stay above queue wait + parse time on a loaded machine:
# a first run with 30 s had the reconciler re-enqueue healthy queued jobs until they hit
# INGEST_MAX_ATTEMPTS and failed (production default: 900 s).
export CELERY_VISIBILITY_TIMEOUT=${CELERY_VISIBILITY_TIMEOUT:-60}
export INGEST_STUCK_AFTER_S=${INGEST_STUCK_AFTER_S:-240}
export INGEST_RECONCILE_EVERY_S=${INGEST_RECONCILE_EVERY_S:-30}
export LLM_BACKEND=${LLM_BACKEND:-extractive}
as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }

redis_start() {
  mkdir -p "$STACK_DIR/redis"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$STACK_DIR/redis" --appendonly yes \
    --maxmemory-policy noeviction --save "" --daemonize yes --pidfile "$STACK_DIR/redis.pidfile" \
    --logfile "$STACK_DIR/redis.log"
  for _ in $(seq 1 50); do [ -s "$STACK_DIR/redis.pidfile" ] && break; sleep 0.1; done
  cp "$STACK_DIR/redis.pidfile" "$STACK_DIR/redis.pid"
}
pg_start() {
  as_pg "$PGBIN/pg_ctl -D $PGDATA status" >/dev/null 2>&1 && return 0
  as_pg "$PGBIN/pg_ctl -D $PGDATA -o '-p $PG_PORT -k /tmp' -l $PGDATA/log -w start" >/dev/null
}
pg_stop() { as_pg "$PGBIN/pg_ctl -D $PGDATA -m fast -w stop" >/dev/null; }

case "${1:-all}" in
  redis-start) redis_start ;;
  pg-start) pg_start ;;
  pg-stop) pg_stop ;;
  all)
    mkdir -p "$DRILL" "$STACK_DIR"
    if [ ! -f "$PGDATA/PG_VERSION" ]; then
      mkdir -p "$PGDATA" && chown postgres "$PGDATA" 2>/dev/null || true
      as_pg "$PGBIN/initdb -D $PGDATA -A trust -U postgres" >/dev/null
    fi
    pg_start
    redis_start
    trap 'benchmarks/load/run_stack.sh stop; kill "$(cat "$STACK_DIR/redis.pid")" 2>/dev/null; pg_stop || true' EXIT
    benchmarks/load/run_stack.sh start
    "$ROOT/.venv/bin/python" benchmarks/drills/fault_drills.py --url "http://127.0.0.1:$STACK_PORT" \
      --out "$DRILL/drills.json" "${@:2}"
    ;;
  *) echo "usage: $0 [all|redis-start|pg-start|pg-stop]" >&2; exit 2 ;;
esac
