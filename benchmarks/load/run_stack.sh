#!/usr/bin/env bash
# Start the portal on loopback for load tests and drills: a fresh PostgreSQL database, migrate,
# the demo knowledge, gunicorn and one Celery worker (all queues) plus beat. Foreground setup,
# background servers; their pids and logs go to $STACK_DIR.
#   benchmarks/load/run_stack.sh start      # prints the URL
#   benchmarks/load/run_stack.sh stop
# Settings: STACK_DB (database name), STACK_PORT, STACK_DIR, LLM_BACKEND, GUNICORN_WORKERS,
# RATE_LIMIT_ASK_PER_MINUTE(_ADDRESS) and anything else portal/settings.py reads.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
PY=${PY:-$ROOT/.venv/bin/python}
STACK_DB=${STACK_DB:-portal_load}
STACK_PORT=${STACK_PORT:-8765}
STACK_DIR=${STACK_DIR:-$ROOT/var/load-stack}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
export DATABASE_URL="$PG/$STACK_DB"
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/7}
export PORTAL_DATA_DIR="$STACK_DIR/data"
# Fixed, so benchmarks/load/sample.py knows the queue names ("load-stack.ingestion", ...).
export DEPLOYMENT_NAME=${DEPLOYMENT_NAME:-load-stack}
export PORTAL_ENV=development DEBUG=0 LOG_FORMAT=${LOG_FORMAT:-json} LOG_LEVEL=${LOG_LEVEL:-WARNING}
export GUNICORN_BIND="127.0.0.1:$STACK_PORT" GUNICORN_WORKERS=${GUNICORN_WORKERS:-2}
export GUNICORN_TIMEOUT=${GUNICORN_TIMEOUT:-120}
export GUNICORN_ACCESSLOG=""
export PROMETHEUS_MULTIPROC_DIR="$STACK_DIR/prometheus"
export LLM_MODEL_PATH=${LLM_MODEL_PATH:-$ROOT/var/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf}
export LLM_BACKEND=${LLM_BACKEND:-extractive}
export RATE_LIMIT_ASK_PER_MINUTE=${RATE_LIMIT_ASK_PER_MINUTE:-0}
export RATE_LIMIT_ASK_PER_MINUTE_ADDRESS=${RATE_LIMIT_ASK_PER_MINUTE_ADDRESS:-0}

start_web() {
  "$PY" -m gunicorn -c deploy/gunicorn.conf.py portal.asgi:application >>"$STACK_DIR/web.log" 2>&1 &
  echo $! >"$STACK_DIR/web.pid"
}

start_worker() {
  "$PY" -m celery -A portal worker --concurrency 1 \
    -n "load@%h" --loglevel WARNING >>"$STACK_DIR/worker.log" 2>&1 &
  echo $! >"$STACK_DIR/worker.pid"
}

start_beat() {
  "$PY" -m celery -A portal beat --loglevel WARNING \
    --schedule "$STACK_DIR/beat-schedule" >>"$STACK_DIR/beat.log" 2>&1 &
  echo $! >"$STACK_DIR/beat.pid"
}

wait_ready() {
  for _ in $(seq 1 180); do
    if curl -fsS "http://127.0.0.1:$STACK_PORT/health/ready" >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  echo "web did not become ready; see $STACK_DIR/web.log" >&2
  return 1
}

stop() {
  for name in web worker beat; do
    if [ -f "$STACK_DIR/$name.pid" ]; then
      pid=$(cat "$STACK_DIR/$name.pid")
      kill "$pid" 2>/dev/null || true
      # Wait for a graceful exit (gunicorn and Celery finish what they hold), then insist.
      for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
      kill -9 "$pid" 2>/dev/null || true
      rm -f "$STACK_DIR/$name.pid"
    fi
  done
}

case "${1:-start}" in
  start)
    stop
    mkdir -p "$STACK_DIR"
    if [ "${STACK_FRESH:-1}" = 1 ]; then
      rm -rf "$PORTAL_DATA_DIR"
      psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $STACK_DB WITH (FORCE)" -c "CREATE DATABASE $STACK_DB"
      redis-cli -u "$REDIS_URL" flushdb >/dev/null
      "$PY" manage.py migrate --noinput -v 0
      "$PY" manage.py load_demo >"$STACK_DIR/load_demo.log" 2>&1
    fi
    start_worker
    start_beat
    start_web
    wait_ready
    echo "http://127.0.0.1:$STACK_PORT"
    ;;
  web) start_web; wait_ready ;;
  worker) start_worker ;;
  stop) stop ;;
  env) env | grep -E '^(DATABASE_URL|REDIS_URL|PORTAL_DATA_DIR|LLM_BACKEND|PROMETHEUS_MULTIPROC_DIR)=' ;;
  *) echo "usage: $0 start|stop|web|worker|env" >&2; exit 2 ;;
esac
