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
    assert {"db", "redis", "web", "worker-ingestion", "worker-generation", "beat", "nginx"} <= set(
        services
    )
    assert {"flower", "vllm", "migrate"} <= set(services)
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
    commands = {services[s]["command"][0] for s in ("web", "worker-ingestion", "beat", "migrate")}
    assert commands == {"web", "worker-ingestion", "beat", "migrate"}
    # Every *_FILE the containers get names a mounted secret.
    for key, value in services["web"]["environment"].items():
        if key.endswith("_FILE"):
            assert value.removeprefix("/run/secrets/") in doc["secrets"], key


def test_nginx_streams_sse_limits_uploads_and_hides_metrics():
    conf = (DEPLOY / "nginx" / "portal.conf").read_text()
    stream = conf.split("location = /api/ask/stream {", 1)[1].split("}", 1)[0]
    assert "proxy_buffering off;" in stream
    assert re.search(r"client_max_body_size \d+m;", conf)
    assert "proxy_read_timeout" in conf and "location /static/" in conf
    assert "location = /metrics {\n        return 404;" in conf
    assert "X-Request-ID $request_id" in conf


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
        "GUNICORN_BIND", "GUNICORN_WORKERS", "GUNICORN_THREADS", "GUNICORN_TIMEOUT",
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
    for role in ("web)", "worker-ingestion)", "worker-generation)", "beat)", "migrate)"):
        assert role in roles


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
    assert (DEPLOY / f"{dockerfile}.dockerignore").exists()


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
    assert names == {"portal-web", "portal-worker-ingestion", "portal-worker-generation",
                     "portal-beat"}  # fmt: skip
    for deployment in deployments:
        pod = deployment["spec"]["template"]["spec"]
        for container in pod["containers"]:
            where = f"{deployment['metadata']['name']}/{container['name']}"
            assert "livenessProbe" in container and "readinessProbe" in container, where
            assert container["resources"]["requests"] and container["resources"]["limits"], where
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
    assert scaled["portal-worker-ingestion"]["spec"]["triggers"][0]["metadata"]["listName"] == (
        "ingestion"
    )
    assert scaled["portal-worker-generation"]["spec"]["triggers"][0]["metadata"]["listName"] == (
        "generation"
    )
    config = next(d for _, d in _k8s_documents() if d["metadata"]["name"] == "portal-config")
    settings_names = _settings_names()
    for key in config["data"]:
        base = key.removesuffix("_FILE")
        assert base in settings_names or key.startswith("GUNICORN_"), key
