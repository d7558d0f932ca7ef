#!/usr/bin/env bash
# Back up everything the portal cannot recompute: the database (answers, citations, documents,
# chunks with their vectors, audit trail), the uploaded originals, and the index files (derived,
# kept so a restore serves at once; `manage.py rebuild_index` recreates them from the database).
#   DATABASE_URL=... PORTAL_DATA_DIR=... deploy/backup.sh /backups/2026-11-28
# Compose: docker compose -f deploy/compose.yaml exec web deploy/backup.sh /srv/portal/backups/$(date +%F)
set -euo pipefail
DEST=${1:?usage: backup.sh DEST_DIR}
: "${DATABASE_URL:?DATABASE_URL is required}"
DATA=${PORTAL_DATA_DIR:?PORTAL_DATA_DIR is required}
mkdir -p "$DEST"
started=$(date +%s)
# Custom format: compressed, restorable table by table, consistent (one snapshot).
pg_dump --format=custom --no-owner --no-privileges --file "$DEST/db.dump" "$DATABASE_URL"
# Uploads first, then the index: a document uploaded between the two has its file saved; its
# chunks are in the dump only if it finished before pg_dump's snapshot, else it re-ingests.
tar -C "$DATA" -czf "$DEST/media.tar.gz" --ignore-failed-read media 2>/dev/null || tar -C "$DATA" -czf "$DEST/media.tar.gz" --files-from /dev/null
if [ -d "$DATA/index" ]; then
  tar -C "$DATA" -czf "$DEST/index.tar.gz" index
fi
(cd "$DEST" && sha256sum ./*.dump ./*.tar.gz >SHA256SUMS)
cat >"$DEST/MANIFEST" <<MANIFEST
created_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)
seconds=$(( $(date +%s) - started ))
source_data_dir=$DATA
git_commit=$(git -C "$(dirname "$0")/.." rev-parse --short HEAD 2>/dev/null || echo unknown)
MANIFEST
du -sh "$DEST"/* | sed 's/^/backup: /'
