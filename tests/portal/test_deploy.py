"""Deployment files, checked offline: compose and Kubernetes schemas, env.example coverage,
entrypoints, Dockerfiles and the gunicorn hooks. (No Docker engine or cluster runs here.)"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml
from django.test import RequestFactory

from portal.core.clients import client_address
from portal.core.deployment import queue_name

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S_VERSION = "1.30.0"


# --- compose -----------------------------------------------------------------------------------

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def interpolate(value, env: dict[str, str]):
    """Compose's ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3) or ""
        present = name in env and (env[name] != "" or not (op or "").startswith(":"))
        if op in (":?", "?") and not present:
            raise ValueError(f"required variable {name} is missing: {arg}")
        if present:
            return env[name]
        return arg if op in (":-", "-") else ""

    return _VAR.sub(one, value.replace("$$", "\0")).replace("\0", "$")


def _compose(env: dict[str, str] | None = None) -> dict:
    raw = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return interpolate(raw, {"FLOWER_BASIC_AUTH": "ops:pw", **(env or {})})


def test_compose_validates_against_the_compose_spec_schema():
    schema = json.loads((DEPLOY / "schemas" / "compose-spec.json").read_text())
    validator = jsonschema.Draft201909Validator(schema)
    errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(_compose())]
    assert errors == []


def test_compose_refuses_to_start_flower_without_basic_auth():
    raw = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    with pytest.raises(ValueError, match="FLOWER_BASIC_AUTH"):
        interpolate(raw, {})


def test_compose_references_resolve_and_services_are_configured_as_required():
    doc = _compose()
    services = doc["services"]
    assert {"db", "redis", "web", "llm", "worker-ingestion", "beat", "nginx"} <= set(services)
    assert {"flower", "vllm", "migrate"} <= set(services)
    assert "worker-generation" not in services  # generation happens in the inference server
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, (name, dependency)
        for secret in service.get("secrets", []):
            assert secret in doc["secrets"], (name, secret)
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith((".", "/", "$")):
                assert source in doc["volumes"], (name, source)
            elif source.startswith("./"):
                assert (DEPLOY / source).exists() or "models" in source, (name, source)
        if "build" in service:
            assert (DEPLOY / service["build"]["context"] / service["build"]["dockerfile"]).exists()
    redis_cmd = " ".join(services["redis"]["command"])
    assert "--appendonly yes" in redis_cmd and "--maxmemory-policy noeviction" in redis_cmd
    assert services["vllm"]["profiles"] == ["gpu"]
    assert "FLOWER_BASIC_AUTH" in services["flower"]["environment"]
    roles = ("web", "llm", "worker-ingestion", "beat", "migrate")
    assert {services[s]["command"][0] for s in roles} == set(roles)
    # Every *_FILE the containers get names a mounted secret.
    for key, value in services["web"]["environment"].items():
        if key.endswith("_FILE"):
            assert value.removeprefix("/run/secrets/") in doc["secrets"], key


def _portal_services(doc: dict) -> dict[str, dict]:
    """The services that run the portal image (web, llm, workers, beat, migrate)."""
    return {
        name: service
        for name, service in doc["services"].items()
        if service.get("image", "").startswith("cited-answers")
    }


def test_compose_runs_the_inference_server_that_every_portal_container_uses():
    doc = _compose()
    services = doc["services"]
    portal = _portal_services(doc)
    assert {"web", "llm", "worker-ingestion", "beat", "migrate"} == set(portal)
    for name, service in portal.items():
        assert service["environment"]["LLM_OPENAI_BASE_URL"] == "http://llm:8081/v1", name
    # deploy/.env may point them elsewhere (vLLM), through compose's interpolation.
    other = _compose({"LLM_OPENAI_BASE_URL": "http://vllm:8000/v1"})
    assert other["services"]["web"]["environment"]["LLM_OPENAI_BASE_URL"] == "http://vllm:8000/v1"

    llm = services["llm"]
    assert llm["command"][:3] == ["llm", "--port", "8081"]
    assert llm["expose"] == ["8081"]
    assert "LLM_SERVER_SLOTS" in llm["environment"]
    health = " ".join(llm["healthcheck"]["test"])
    assert "python" in health and "http://127.0.0.1:8081/health" in health
    assert llm["deploy"]["resources"]["limits"]["memory"] == "2g"
    # It loads the production settings like every portal process: the same secrets.
    assert set(llm["secrets"]) == set(services["web"]["secrets"])

    web = services["web"]
    assert web["depends_on"]["llm"]["condition"] == "service_started"
    assert "GUNICORN_THREADS" not in web["environment"]
    slots = int(web["environment"]["ANSWER_STREAM_SLOTS"])
    workers = int(web["environment"]["GUNICORN_WORKERS"])
    assert slots * workers == int(llm["environment"]["LLM_SERVER_SLOTS"])
    assert int(web["environment"]["ANSWER_STREAM_QUEUE"]) > 0
    assert services["vllm"]["profiles"] == ["gpu"]


def _location(conf: str, path: str) -> str:
    return conf.split(f"location = {path} {{", 1)[1].split("}", 1)[0]


def test_nginx_streams_sse_limits_uploads_and_hides_metrics():
    conf = (DEPLOY / "nginx" / "portal.conf").read_text()
    for path in ("/api/v1/ask/stream", "/api/v1/chat/completions"):
        stream = _location(conf, path)
        assert "proxy_buffering off;" in stream, path
        assert "proxy_read_timeout 300s;" in stream, path
        assert "limit_req zone=ask" in stream, path
        # The portal's own 503 + Retry-After (the line is full) reaches the client.
        assert "proxy_intercept_errors off;" in stream, path
    assert "location = /api/ask/stream" not in conf  # the old route is gone
    assert re.search(r"client_max_body_size \d+m;", conf)
    assert "proxy_read_timeout" in conf and "location /static/" in conf
    assert "location = /metrics {\n        return 404;" in conf
    assert "X-Request-ID $request_id" in conf


def test_nginx_access_logs_carry_no_query_strings():
    for where, conf in (
        ("portal.conf", (DEPLOY / "nginx" / "portal.conf").read_text()),
        ("sidecar", _sidecar_nginx_conf()),
    ):
        formats = dict(re.findall(r"log_format\s+(\w+)\s+((?:'[^']*'\s*)+);", conf))
        assert formats, where
        for name, body in formats.items():
            assert "$uri" in body, (where, name)
            for leaky in ("$request ", '$request"', "$request_uri", "$args", "$query_string",
                          "$http_referer"):  # fmt: skip
                assert leaky not in body, (where, name, leaky)
        # Every access_log names one of those formats (the default "combined" logs $request).
        for log in re.findall(r"access_log\s+([^;]+);", conf):
            parts = log.split()
            assert parts == ["off"] or (len(parts) >= 2 and parts[1] in formats), (where, log)


# --- settings and env.example -------------------------------------------------------------------


def _settings_names() -> set[str]:
    tree = ast.parse((ROOT / "portal" / "settings.py").read_text())
    return {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id.startswith("env_")
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }


def _example_names() -> dict[str, str]:
    """NAME -> the comment block right above it (active `NAME=` or commented `# NAME=`)."""
    names: dict[str, str] = {}
    comment: list[str] = []
    for line in (DEPLOY / "env.example").read_text().splitlines():
        match = re.match(r"^#?\s?([A-Z][A-Z0-9_]*)=", line)
        if match:
            name = match.group(1)
            names.setdefault(name, " ".join(comment))
            if name.endswith("_FILE"):  # SECRET_KEY_FILE documents SECRET_KEY too
                names.setdefault(name.removesuffix("_FILE"), " ".join(comment))
        elif line.startswith("#"):
            comment.append(line)
        else:
            comment = []
    return names


def test_env_example_explains_every_setting():
    documented = _example_names()
    missing = sorted(_settings_names() - set(documented))
    assert missing == [], f"add these to deploy/env.example with a comment: {missing}"
    unexplained = sorted(n for n in _settings_names() if not documented[n].strip())
    assert unexplained == []


def test_env_example_names_only_real_settings():
    extra_known = {
        "GUNICORN_BIND", "GUNICORN_WORKERS", "GUNICORN_TIMEOUT",
        "GUNICORN_GRACEFUL_TIMEOUT", "GUNICORN_MAX_REQUESTS", "GUNICORN_KEEPALIVE",
        "GUNICORN_ACCESSLOG",
        "PROMETHEUS_MULTIPROC_DIR", "CELERY_CONCURRENCY", "CELERY_BEAT_SCHEDULE_FILE",
        "EMBEDDING_THREADS", "ANSWER_WARMUP", "FLOWER_BASIC_AUTH", "HTTP_PORT",
        "REDIS_MAXMEMORY", "VLLM_MODEL_DIR", "VLLM_VERSION",
    }  # fmt: skip
    real = _settings_names()
    names = _example_names()
    unknown = sorted(
        n
        for n in names
        if f"{n}_FILE" not in names  # only the file form is written (CELERY_BEAT_SCHEDULE_FILE)
        and n not in real
        and n.removesuffix("_FILE") not in real
        and n not in extra_known
    )
    assert unknown == []


def test_env_example_production_values_load(tmp_path):
    """The active lines of env.example (with real secrets filled in) are valid settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE", "REDIS"))}
    for line in (DEPLOY / "env.example").read_text().splitlines():
        if re.match(r"^[A-Z][A-Z0-9_]*=", line):
            key, value = line.split("=", 1)
            env[key] = value
    env.update(
        SECRET_KEY="x" * 50,
        AUDIT_HMAC_KEY="y" * 40,
        PORTAL_DATA_DIR=str(tmp_path),
        DJANGO_SETTINGS_MODULE="portal.settings",
    )
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.PRODUCTION, s.RATE_LIMIT_ASK_PER_MINUTE, s.LOG_FORMAT, s.METRICS_ALLOWED_IPS[-1])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["True", "20", "json", "10.0.0.0/8"]


# --- entrypoints, images, gunicorn ---------------------------------------------------------------

SCRIPTS = [
    "deploy/docker-entrypoint.sh",
    "deploy/backup.sh",
    "deploy/restore.sh",
    "deploy/restore_drill.sh",
    "benchmarks/load/run_stack.sh",
    "benchmarks/load/run_load.sh",
    "benchmarks/drills/fault_drills.sh",
]


@pytest.mark.parametrize("script", SCRIPTS)
def test_scripts_exist_are_executable_and_parse(script):
    path = ROOT / script
    assert path.exists() and os.access(path, os.X_OK), script
    assert subprocess.run(["bash", "-n", str(path)], capture_output=True).returncode == 0


def test_entrypoint_runs_manage_commands_in_the_image_layout(tmp_path):
    env = {
        **os.environ,
        "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}",
        "PORTAL_DATA_DIR": str(tmp_path),
    }
    out = subprocess.run(
        [str(DEPLOY / "docker-entrypoint.sh"), "manage", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "no issues" in out.stdout
    roles = (DEPLOY / "docker-entrypoint.sh").read_text()
    for role in ("web)", "llm)", "worker-ingestion)", "beat)", "migrate)"):
        assert role in roles
    assert "worker-generation" not in roles and "-Q generation" not in roles
    assert "exec gunicorn -c deploy/gunicorn.conf.py portal.asgi:application" in roles


def test_entrypoint_llm_role_execs_llama_server_listening_for_other_containers(tmp_path):
    """`llm` -> manage.py llm_server --host 0.0.0.0 -> exec LLM_SERVER_BIN with the settings."""
    argv_file = tmp_path / "argv"
    fake = tmp_path / "llama-server"
    fake.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {argv_file}\n')
    fake.chmod(0o755)
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF")
    env = {
        **os.environ,
        "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}",
        "PORTAL_DATA_DIR": str(tmp_path),
        "LLM_SERVER_BIN": str(fake),
        "LLM_MODEL_PATH": str(model),
        "LLM_MODEL_SHA256": "",
        "LLM_OPENAI_BASE_URL": "http://llm:8081/v1",
        "LLM_SERVER_SLOTS": "3",
    }
    env.pop("LLM_OPENAI_MODEL", None)
    out = subprocess.run(
        [str(DEPLOY / "docker-entrypoint.sh"), "llm", "--port", "8081"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    argv = argv_file.read_text().split()

    def value(flag: str) -> str:
        return argv[argv.index(flag) + 1]

    assert value("--host") == "0.0.0.0" and value("--port") == "8081"  # noqa: S104
    assert value("--model") == str(model)
    assert value("--alias") == "model"  # LLM_OPENAI_MODEL's default: the model file's stem
    assert value("--parallel") == "3"


@pytest.mark.parametrize("dockerfile", ["Dockerfile", "Dockerfile.gpu"])
def test_dockerfiles_pin_the_model_hash_and_copy_what_exists(dockerfile):
    from llm_backend.model_files import QWEN_SHA256

    text = (DEPLOY / dockerfile).read_text()
    assert f"MODEL_SHA256={QWEN_SHA256}" in text and "sha256sum -c" in text
    assert 'ENTRYPOINT ["/app/deploy/docker-entrypoint.sh"]' in text
    for line in text.splitlines():
        if line.startswith("COPY ") and "--from=" not in line:
            sources = [s for s in line.split()[1:-1] if not s.startswith("--")]
            for source in sources:
                assert (ROOT / source).exists(), source
    if dockerfile.endswith(".gpu"):
        assert "requirements-gpu.txt" in text and "pip uninstall -y faiss-cpu" in text
        assert "GGML_CUDA=on" in text and "nvidia/cuda" in text
        assert re.search(r'ARG LLAMA_CMAKE_ARGS="[^"]*-DGGML_CUDA=on', text)
    assert (DEPLOY / f"{dockerfile}.dockerignore").exists()
    # llama-server (the llm role) is built in the build stage with the same llama.cpp flags, after
    # llm_backend is copied there, and shipped to the runtime stage where LLM_SERVER_BIN names it.
    build, runtime = text.split(" AS runtime", 1)
    build_cmd = (
        'python -m llm_backend.server build --dest /opt/llama --cmake-args "${LLAMA_CMAKE_ARGS}"'
    )
    assert build_cmd in build
    assert build.index("COPY llm_backend /src/llm_backend") < build.index(build_cmd)
    assert build.index("ARG LLAMA_CMAKE_ARGS=") < build.index(build_cmd)
    assert "COPY --from=build /opt/llama /opt/llama" in runtime
    assert "LLM_SERVER_BIN=/opt/llama/llama-server" in runtime
    assert "worker-generation" not in text


def test_gunicorn_config_empties_the_metrics_folder_and_warms_up(tmp_path, monkeypatch):
    import importlib.util

    folder = tmp_path / "prom"
    folder.mkdir()
    (folder / "counter_123.db").write_bytes(b"stale")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(folder))
    spec = importlib.util.spec_from_file_location("gunicorn_conf", DEPLOY / "gunicorn.conf.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    conf.on_starting(server=None)
    assert folder.exists() and list(folder.iterdir()) == []
    assert callable(conf.post_worker_init) and callable(conf.child_exit)
    assert conf.preload_app is False


def _gunicorn_conf():
    import importlib.util

    spec = importlib.util.spec_from_file_location("gunicorn_conf", DEPLOY / "gunicorn.conf.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    return conf


def test_gunicorn_serves_the_asgi_application_with_uvicorn_workers():
    from gunicorn.config import Config
    from uvicorn_worker import UvicornWorker

    conf = _gunicorn_conf()
    assert conf.worker_class == "uvicorn_worker.UvicornWorker"
    assert conf.wsgi_app == "portal.asgi:application"
    assert not hasattr(conf, "threads")  # no meaning for the uvicorn worker
    # gunicorn accepts every setting the file defines (the validation `gunicorn -c` applies).
    cfg = Config()
    for name in cfg.settings:
        if hasattr(conf, name):
            cfg.set(name, getattr(conf, name))
    assert cfg.worker_class is UvicornWorker
    assert cfg.forwarded_allow_ips == []  # the portal reads X-Forwarded-* itself
    assert "%(r)s" not in conf.access_log_format and "%(q)s" not in conf.access_log_format
    assert "%(m)s" in conf.access_log_format and "%(U)s" in conf.access_log_format
    text = (DEPLOY / "gunicorn.conf.py").read_text()
    assert "gunicorn -c deploy/gunicorn.conf.py portal.asgi:application" in text


def test_gunicorn_access_log_under_uvicorn_has_path_status_duration_and_request_id():
    import logging

    from tests.streams import run_coroutine

    conf = _gunicorn_conf()

    async def app(scope, receive, send):
        headers = [(b"content-type", b"text/event-stream"), (b"x-request-id", b"rid-42")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"data: a\n\n", "more_body": True})
        await send({"type": "http.response.body", "body": b"data: b\n\n"})

    async def failing(scope, receive, send):
        raise RuntimeError("boom")

    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    logger = logging.getLogger("test.gunicorn.access")
    logger.handlers = [Collect()]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/v1/ask/stream",
        "query_string": b"q=my+private+question",
        "http_version": "1.1",
        "client": ("10.0.0.7", 5123),
        "headers": [(b"x-request-id", b"rid-42")],
    }

    async def channel(message=None):
        return {"type": "http.disconnect"}

    async def run():
        logged = conf.access_logged(app, logger, conf.access_log_format)
        await logged(scope, channel, channel)
        with pytest.raises(RuntimeError):
            await conf.access_logged(failing, logger, conf.access_log_format)(
                scope, channel, channel
            )
        await logged({"type": "lifespan"}, channel, channel)  # passes through, unlogged

    run_coroutine(run())
    assert len(records) == 2
    line, failed = records
    assert line.startswith('10.0.0.7 "POST /api/v1/ask/stream" 200 18 ')
    assert re.search(r" \d+\.\d{6}s rid=rid-42$", line)
    assert failed.startswith('10.0.0.7 "POST /api/v1/ask/stream" 500 - ')
    assert all("private" not in r and "q=" not in r for r in records)


# --- Kubernetes ---------------------------------------------------------------------------------


def _k8s_documents():
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                yield path.name, doc


def test_kubernetes_manifests_validate_against_the_schemas():
    schemas = {
        kind: json.loads((DEPLOY / "schemas" / f"keda-{kind.lower()}-v1alpha1.json").read_text())
        for kind in ("ScaledObject", "TriggerAuthentication")
    }
    checked = []
    for name, doc in _k8s_documents():
        if doc["apiVersion"].startswith("keda.sh/"):
            jsonschema.Draft202012Validator(schemas[doc["kind"]]).validate(doc)
        else:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        checked.append(f"{name}:{doc['kind']}")
    kinds = {c.split(":")[1] for c in checked}
    assert {"Deployment", "Service", "Ingress", "Job", "ScaledObject"} <= kinds
    assert {"HorizontalPodAutoscaler", "ConfigMap", "PersistentVolumeClaim"} <= kinds


def test_kubernetes_strict_validation_catches_a_typo():
    doc = next(d for _, d in _k8s_documents() if d["kind"] == "Deployment")
    broken = json.loads(json.dumps(doc))
    broken["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


def test_kubernetes_workloads_have_probes_resources_and_cluster_secrets():
    from django.urls import resolve

    deployments = [d for _, d in _k8s_documents() if d["kind"] == "Deployment"]
    names = {d["metadata"]["name"] for d in deployments}
    assert names == {"portal-web", "portal-llm", "portal-worker-ingestion", "portal-beat"}
    for deployment in deployments:
        pod = deployment["spec"]["template"]["spec"]
        for container in pod["containers"]:
            where = f"{deployment['metadata']['name']}/{container['name']}"
            assert "livenessProbe" in container and "readinessProbe" in container, where
            assert container["resources"]["requests"] and container["resources"]["limits"], where
            if container.get("args", [None])[0] == "llm":
                continue  # llama-server's own /health (test_kubernetes_llm_server_...)
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                path = container.get(probe, {}).get("httpGet", {}).get("path")
                if path:
                    resolve(path)  # the probe hits a real URL of the portal
        secrets = [v["secret"]["secretName"] for v in pod.get("volumes", []) if "secret" in v]
        assert secrets == ["portal-secrets"], deployment["metadata"]["name"]
    web = next(d for d in deployments if d["metadata"]["name"] == "portal-web")
    probes = web["spec"]["template"]["spec"]["containers"][0]
    assert probes["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert probes["livenessProbe"]["httpGet"]["path"] == "/health/live"
    scaled = {d["spec"]["scaleTargetRef"]["name"]: d for _, d in _k8s_documents()
              if d["kind"] == "ScaledObject"}  # fmt: skip
    config = next(d for _, d in _k8s_documents() if d["metadata"]["name"] == "portal-config")
    # KEDA reads the Redis list of this deployment's ingestion queue, by its prefixed name.
    assert scaled["portal-worker-ingestion"]["spec"]["triggers"][0]["metadata"]["listName"] == (
        queue_name(config["data"]["DEPLOYMENT_NAME"], "ingestion")
    )
    assert set(scaled) == {"portal-worker-ingestion"}  # no generation queue any more
    settings_names = _settings_names()
    for key in config["data"]:
        base = key.removesuffix("_FILE")
        assert base in settings_names or key.startswith("GUNICORN_"), key
    assert "GUNICORN_THREADS" not in config["data"]


def _sidecar_nginx_conf() -> str:
    nginx = next(d for _, d in _k8s_documents() if d["metadata"]["name"] == "portal-nginx")
    return nginx["data"]["default.conf"]


def test_kubernetes_llm_server_is_what_the_web_config_points_at():
    by_kind_name = {(d["kind"], d["metadata"]["name"]): d for _, d in _k8s_documents()}
    llm = by_kind_name[("Deployment", "portal-llm")]
    container = llm["spec"]["template"]["spec"]["containers"][0]
    assert container["args"][0] == "llm"
    assert {"name": "http", "containerPort": 8081} in container["ports"]
    assert container["readinessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert container["startupProbe"]["httpGet"]["path"] == "/health"

    service = by_kind_name[("Service", "portal-llm")]
    labels = llm["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    service_port = service["spec"]["ports"][0]
    assert service_port["targetPort"] == "http"

    config = by_kind_name[("ConfigMap", "portal-config")]["data"]
    assert config["LLM_BACKEND"] == "openai"
    expected = f"http://{service['metadata']['name']}:{service_port['port']}/v1"
    assert config["LLM_OPENAI_BASE_URL"] == expected
    # Each web process's share of the server's slots (pods x GUNICORN_WORKERS processes).
    web = by_kind_name[("Deployment", "portal-web")]
    processes = web["spec"]["replicas"] * int(config["GUNICORN_WORKERS"])
    assert int(config["ANSWER_STREAM_SLOTS"]) * processes == int(config["LLM_SERVER_SLOTS"])
    assert ("Deployment", "portal-worker-generation") not in by_kind_name


def test_kubernetes_sidecar_streams_answers_unbuffered():
    conf = _sidecar_nginx_conf()
    for path in ("/api/v1/ask/stream", "/api/v1/chat/completions"):
        stream = _location(conf, path)
        assert "proxy_buffering off;" in stream and "proxy_read_timeout 300s;" in stream, path
    assert "location = /api/ask/stream" not in conf  # the old route is gone


_APPENDS_FORWARDED_FOR = "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;"


def _client_behind(count: int, *, remote_addr: str, forwarded_for: str, settings) -> str:
    settings.AUDIT_PROXY_COUNT = count
    request = RequestFactory().get("/", REMOTE_ADDR=remote_addr, HTTP_X_FORWARDED_FOR=forwarded_for)
    return client_address(request)


def test_kubernetes_trusts_the_ingress_and_the_sidecar(settings):
    docs = {(d["kind"], d["metadata"]["name"]): d for _, d in _k8s_documents()}
    # Hop 1: an Ingress routes citizens to the web Service.
    service = docs[("Service", "portal-web")]
    ingresses = [
        d
        for (kind, _), d in docs.items()
        if kind == "Ingress"
        for rule in d["spec"]["rules"]
        for path in rule["http"]["paths"]
        if path["backend"]["service"]["name"] == service["metadata"]["name"]
    ]
    # Hop 2: the Service targets the nginx sidecar's port, which appends to X-Forwarded-For and
    # passes to gunicorn on 127.0.0.1.
    containers = docs[("Deployment", "portal-web")]["spec"]["template"]["spec"]["containers"]
    target = service["spec"]["ports"][0]["targetPort"]
    entry = next(c for c in containers if target in [p["name"] for p in c.get("ports", [])])
    conf = _sidecar_nginx_conf()
    sidecar = entry["image"].startswith("nginx:") and _APPENDS_FORWARDED_FOR in conf
    assert "proxy_pass http://127.0.0.1:8000;" in conf
    hops = len(ingresses) + int(sidecar)
    assert hops == 2

    count = docs[("ConfigMap", "portal-config")]["data"]["AUDIT_PROXY_COUNT"]
    assert int(count) == hops
    # What gunicorn sees: "client, ingress" from the sidecar on 127.0.0.1; a client-supplied entry
    # further left is ignored.
    seen = {"remote_addr": "127.0.0.1", "settings": settings}
    assert _client_behind(int(count), forwarded_for="198.51.100.7, 10.4.0.12", **seen) == (
        "198.51.100.7"
    )
    spoofed = "203.0.113.66, 198.51.100.7, 10.4.0.12"
    assert _client_behind(int(count), forwarded_for=spoofed, **seen) == "198.51.100.7"
    # One hop fewer would make the ingress every citizen's address.
    assert _client_behind(hops - 1, forwarded_for="198.51.100.7, 10.4.0.12", **seen) == "10.4.0.12"


def test_compose_trusts_its_one_nginx(settings):
    services = _compose()["services"]
    conf = (DEPLOY / "nginx" / "portal.conf").read_text()
    # nginx, the only published port, appends to X-Forwarded-For and passes to web; no ingress.
    assert "ports" not in services["web"] and services["nginx"]["ports"]
    assert "server web:8000;" in conf and _APPENDS_FORWARDED_FOR in conf
    count = services["web"]["environment"]["AUDIT_PROXY_COUNT"]
    assert int(count) == 1
    client = _client_behind(
        int(count), remote_addr="172.18.0.5", forwarded_for="198.51.100.7", settings=settings
    )
    assert client == "198.51.100.7"
