#!/usr/bin/env bash
# Restore a backup made by deploy/backup.sh into an EMPTY database and data folder, then rebuild
# the indexes from the database (index rows store absolute file paths, so indexes restored into
# another folder are recreated rather than trusted) and check them.
#   DATABASE_URL=postgres://.../portal_new PORTAL_DATA_DIR=/srv/portal-new deploy/restore.sh /backups/2026-11-28
set -euo pipefail
SRC=${1:?usage: restore.sh BACKUP_DIR}
: "${DATABASE_URL:?DATABASE_URL is required}"
DATA=${PORTAL_DATA_DIR:?PORTAL_DATA_DIR is required}
PY=${PY:-python}
cd "$(dirname "$0")/.."
(cd "$SRC" && sha256sum -c --quiet SHA256SUMS)
mkdir -p "$DATA"
if [ -n "$(ls -A "$DATA/media" 2>/dev/null)" ]; then
  echo "refusing: $DATA/media is not empty" >&2
  exit 2
fi
pg_restore --no-owner --no-privileges --exit-on-error --dbname "$DATABASE_URL" "$SRC/db.dump"
tar -C "$DATA" -xzf "$SRC/media.tar.gz"
started=$(date +%s)
"$PY" manage.py migrate --noinput -v 0          # a backup from an older release catches up
"$PY" manage.py rebuild_index
"$PY" manage.py check_index
echo "restore: indexes rebuilt and checked in $(( $(date +%s) - started )) s"
