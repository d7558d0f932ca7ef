#!/usr/bin/env bash
# Restore drill: back up a running portal, restore into a fresh database and data folder,
# rebuild the indexes, and prove stored answers still resolve their citations and that asking a
# demo question still answers. Exits non-zero on any mismatch.
#   DATABASE_URL=... PORTAL_DATA_DIR=... deploy/restore_drill.sh [WORK_DIR]
# Defaults: the load-test stack (benchmarks/load/run_stack.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export PY=${PY:-$ROOT/.venv/bin/python}
WORK=${1:-$ROOT/var/restore-drill}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
export DATABASE_URL=${DATABASE_URL:-$PG/portal_load}
export PORTAL_DATA_DIR=${PORTAL_DATA_DIR:-$ROOT/var/load-stack/data}
export LLM_BACKEND=${LLM_BACKEND:-extractive} LOG_LEVEL=WARNING
rm -rf "$WORK" && mkdir -p "$WORK"
t0=$(date +%s.%N)
"$PY" deploy/restore_check.py record >"$WORK/before.json"
deploy/backup.sh "$WORK/backup"
t1=$(date +%s.%N)
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS portal_restore_drill WITH (FORCE)" -c "CREATE DATABASE portal_restore_drill"
export DATABASE_URL=$PG/portal_restore_drill PORTAL_DATA_DIR=$WORK/restored-data
deploy/restore.sh "$WORK/backup"
t2=$(date +%s.%N)
"$PY" deploy/restore_check.py verify "$WORK/before.json" | tee "$WORK/verify.json"
python3 - "$t0" "$t1" "$t2" "$WORK" <<'PY'
import json, sys
t0, t1, t2, work = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
result = json.load(open(f"{work}/verify.json"))
result.update(backup_s=round(t1 - t0, 1), restore_and_rebuild_s=round(t2 - t1, 1))
json.dump(result, open(f"{work}/drill.json", "w"), indent=2)
print(f"backup {t1 - t0:.1f} s, restore + rebuild_index + check_index {t2 - t1:.1f} s")
PY
