#!/bin/sh
# One image, several roles: web | worker-ingestion | worker-generation | beat | migrate | manage ...
# Anything else runs as given (e.g. `sh`). Every role reads its settings from the environment
# (portal/settings.py; deploy/env.example explains each).
set -eu

role="${1:-web}"
[ "$#" -gt 0 ] && shift

case "$role" in
  web)
    # Static files go to the shared data volume, which nginx serves read-only.
    python manage.py collectstatic --noinput --verbosity 0
    exec gunicorn -c deploy/gunicorn.conf.py portal.wsgi "$@"
    ;;
  worker-ingestion)
    # Parsing and embedding: CPU-bound, one task per process, many processes per node.
    exec celery -A portal worker -Q ingestion,default -n "ingestion@%h" \
      --concurrency "${CELERY_CONCURRENCY:-2}" --loglevel "${LOG_LEVEL:-INFO}" "$@"
    ;;
  worker-generation)
    # Answers generated off the web process (GPU hosts); one model per process.
    exec celery -A portal worker -Q generation -n "generation@%h" \
      --concurrency "${CELERY_CONCURRENCY:-1}" --loglevel "${LOG_LEVEL:-INFO}" "$@"
    ;;
  beat)
    # Exactly one beat per deployment (two would double every scheduled task).
    exec celery -A portal beat --loglevel "${LOG_LEVEL:-INFO}" \
      --schedule "${CELERY_BEAT_SCHEDULE_FILE:-/tmp/celerybeat-schedule}" "$@"
    ;;
  migrate)
    # Run once per release before web and workers start (compose: the migrate service; k8s: a Job).
    python manage.py migrate --noinput
    exec python manage.py check --deploy --fail-level ERROR
    ;;
  manage)
    exec python manage.py "$@"
    ;;
  *)
    exec "$role" "$@"
    ;;
esac
