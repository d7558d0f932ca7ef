#!/usr/bin/env bash
# The load test: 50 citizens for 2 minutes against gunicorn on loopback, once per backend.
#   benchmarks/load/run_load.sh extractive          # or: llamacpp
#   USERS=50 DURATION=2m OUT=var/load benchmarks/load/run_load.sh extractive
# Writes $OUT/<backend>.json (throughput, p50/p95/p99 per route, errors, 5xx, queue depth,
# memory) and $OUT/<backend>.png (over time).
set -euo pipefail
cd "$(dirname "$0")/../.."
BACKEND=${1:-extractive}
USERS=${USERS:-50}
DURATION=${DURATION:-2m}
OUT=${OUT:-var/load}
STACK_DIR=${STACK_DIR:-var/load-stack}
mkdir -p "$OUT"
export LLM_BACKEND=$BACKEND STACK_DIR
URL=$(benchmarks/load/run_stack.sh start | tail -1)
.venv/bin/python benchmarks/load/sample.py --stack-dir "$STACK_DIR" --out "$OUT/$BACKEND-samples.csv" &
SAMPLER=$!
.venv/bin/locust -f benchmarks/load/locustfile.py --host "$URL" --headless -u "$USERS" -r 10 \
  -t "$DURATION" --csv "$OUT/$BACKEND" --csv-full-history --only-summary \
  >"$OUT/$BACKEND-locust.log" 2>&1 || true
kill "$SAMPLER"
curl -s -m 60 "$URL/metrics" >"$OUT/$BACKEND-metrics.txt"
.venv/bin/python benchmarks/load/report.py --csv "$OUT/$BACKEND" --samples "$OUT/$BACKEND-samples.csv" \
  --out "$OUT/$BACKEND.json" --title "$USERS users, $DURATION, LLM_BACKEND=$BACKEND"
benchmarks/load/run_stack.sh stop
