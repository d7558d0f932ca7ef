#!/bin/sh
# One image, several roles: web | llm | worker-ingestion | beat | migrate | manage ...
# Anything else runs as given (e.g. `sh`). Every role reads its settings from the environment
# (portal/settings.py; deploy/env.example explains each).
set -eu

role="${1:-web}"
[ "$#" -gt 0 ] && shift

case "$role" in
  web)
    # Static files go to the shared data volume, which nginx serves read-only.
    python manage.py collectstatic --noinput --verbosity 0
    # ASGI under gunicorn's uvicorn workers (deploy/gunicorn.conf.py).
    exec gunicorn -c deploy/gunicorn.conf.py portal.asgi:application "$@"
    ;;
  llm)
    # The inference server every web process shares: llama.cpp's llama-server (LLM_SERVER_BIN,
    # built into the image) serving LLM_MODEL_PATH with LLM_SERVER_SLOTS parallel slots, on the
    # port of LLM_OPENAI_BASE_URL unless --port is given. exec'd: stop signals reach it directly.
    exec python manage.py llm_server --host 0.0.0.0 "$@"
    ;;
  worker-ingestion)
    # Parsing and embedding: CPU-bound, one task per process, many processes per node. No -Q:
    # the worker consumes this deployment's queues ("$DEPLOYMENT_NAME.ingestion" and ".default",
    # CELERY_TASK_QUEUES in portal/settings.py), the ones the web process routes to.
    exec celery -A portal worker -n "ingestion@%h" \
      --concurrency "${CELERY_CONCURRENCY:-2}" --loglevel "${LOG_LEVEL:-INFO}" "$@"
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
