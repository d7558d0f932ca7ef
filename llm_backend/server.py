"""The inference server: llama.cpp's own ``llama-server``, built from the pinned llama.cpp.

Every web and worker process talks to one server over the OpenAI-compatible API
(``llm_backend.openai_compat``) instead of loading its own copy of the model. The server brings
what an in-process model cannot share: parallel slots decoded together (continuous batching), the
prompt cache (each slot keeps the KV of its last prompt, and a new request goes to the slot whose
cached prompt shares the longest prefix, so the fixed system prompt is not computed again), and a
``/metrics`` page. In production the GPU profile runs vLLM behind the same client code.

Build (``python -m llm_backend.server build``; ``make install`` runs it): the llama.cpp that
llama-cpp-python pins is vendored in its source distribution, so the server comes from the same
source as the in-process backend; the sdist is fetched from the package index (no other network),
only the ``llama-server`` target is compiled, statically linked, and the binary is kept in a cache
keyed by version and compiler flags (like pip's wheel cache) and copied to ``--dest``. The sdist is
kept too (``llama_sdist``): the LoRA converter reads the same llama.cpp (``llm_backend.lora``).

Run: ``ServerSpec.argv()`` is the command line ``make run``, compose and the serving benchmark
use; ``server_status`` is what readiness shows; ``wait_ready`` polls ``/health`` until the model
is loaded.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from urllib.parse import urlsplit

import httpx

BINARY_NAME = "llama-server"


@dataclass(frozen=True)
class ServerSpec:
    """How to start one llama-server. ``ctx_per_slot`` is the context each answer gets; the
    server's total context is that times ``slots`` (llama.cpp divides ``--ctx-size`` by slots)."""

    binary: Path
    model_path: Path
    alias: str
    host: str = "127.0.0.1"
    port: int = 8081
    slots: int = 4
    ctx_per_slot: int = 4096
    threads: int | None = None
    threads_batch: int | None = None
    n_gpu_layers: int = 0
    cache_reuse: int = 256  # reuse cached KV chunks of at least this many tokens (KV shifting)
    # A GGUF LoRA adapter applied to the model (llm_backend.lora; checked before the start).
    lora_path: Path | None = None

    def argv(self) -> list[str]:
        argv = [str(self.binary), "--model", str(self.model_path), "--alias", self.alias]
        if self.lora_path:
            argv += ["--lora", str(self.lora_path)]
        argv += ["--host", self.host, "--port", str(self.port)]
        argv += ["--parallel", str(self.slots), "--ctx-size", str(self.ctx_per_slot * self.slots)]
        argv += ["--cont-batching", "--cache-reuse", str(self.cache_reuse)]
        argv += ["--n-gpu-layers", str(self.n_gpu_layers), "--metrics", "--no-webui"]
        if self.threads:
            argv += ["--threads", str(self.threads)]
        if self.threads_batch:
            argv += ["--threads-batch", str(self.threads_batch)]
        return argv

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"


def server_root(base_url: str) -> str:
    """``http://host:port`` of an OpenAI-compatible base URL (with or without ``/v1``)."""
    parts = urlsplit(base_url.rstrip("/"))
    path = parts.path[: -len("/v1")] if parts.path.endswith("/v1") else parts.path
    return f"{parts.scheme}://{parts.netloc}{path}"


def is_loopback(base_url: str) -> bool:
    return (urlsplit(base_url).hostname or "") in {"127.0.0.1", "localhost", "::1"}


def server_status(base_url: str, *, api_key: str = "", timeout_s: float = 2.0) -> dict:
    """What readiness shows: reachable, the models it serves, slots when it reports them.

    ``/v1/models`` is the one endpoint every OpenAI-compatible server has (llama-server, vLLM,
    SGLang); llama-server's ``/health`` answers 503 while the model is still loading.
    """
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    root = server_root(base_url)
    with httpx.Client(timeout=timeout_s, headers=headers) as client:
        health = client.get(f"{root}/health")
        if health.status_code == 503:
            return {"ok": False, "url": root, "error": "the server is loading its model"}
        models = client.get(f"{root}/v1/models")
        models.raise_for_status()
        ids = [m.get("id") for m in models.json().get("data", [])]
    return {"ok": True, "url": root, "models": ids}


def wait_ready(
    base_url: str,
    *,
    timeout_s: float = 180.0,
    alive: Callable[[], bool] = lambda: True,
    progress: Callable[[str], None] = lambda _: None,
) -> dict:
    """Poll until the server answers with its model loaded; raises TimeoutError. ``alive`` stops
    the wait early when the process that should become the server has exited."""
    deadline = time.monotonic() + timeout_s
    last = ""
    while True:
        try:
            status = server_status(base_url, timeout_s=2.0)
            if status["ok"]:
                return status
            reason = status["error"]
        except httpx.HTTPError as exc:
            reason = f"not answering yet ({type(exc).__name__})"
        if not alive():
            raise TimeoutError(f"the inference server exited before it was ready: {reason}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"no ready inference server at {base_url} in {timeout_s:g} s")
        if reason != last:
            progress(reason)
            last = reason
        time.sleep(0.5)


# --- build --------------------------------------------------------------------------------------

# Static, server only, no web UI (its prebuilt assets would be downloaded), no TLS.
_CMAKE_OPTIONS = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DBUILD_SHARED_LIBS=OFF",
    "-DLLAMA_BUILD_SERVER=ON",
    "-DLLAMA_BUILD_TOOLS=ON",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_UI=OFF",
    "-DLLAMA_USE_PREBUILT_UI=OFF",
    "-DLLAMA_OPENSSL=OFF",
)


def pinned_llama_version() -> str:
    return metadata.version("llama-cpp-python")


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cited-answers"


def default_cache_dir() -> Path:
    return cache_root() / BINARY_NAME


def llama_sdist(version: str | None = None, *, cache_dir: Path | None = None) -> Path:
    """The llama-cpp-python source distribution of ``version`` (default: the installed one),
    fetched once from the package index and kept in ``cache_dir`` (default
    ``~/.cache/cited-answers/sources``): llama-server's build and the LoRA converter
    (``llm_backend.lora``) both read the llama.cpp vendored in it. Raises CalledProcessError
    when pip cannot fetch it."""
    version = version or pinned_llama_version()
    folder = cache_dir or cache_root() / "sources"
    target = folder / f"llama_cpp_python-{version}.tar.gz"
    if target.is_file():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".sdist-", dir=folder) as tmp:
        print(f"llama.cpp: fetching the llama-cpp-python {version} source", flush=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary",
             ":all:", f"llama-cpp-python=={version}", "-d", tmp],
            check=True,
        )  # fmt: skip
        (sdist,) = Path(tmp).glob("llama_cpp_python-*.tar.gz")
        sdist.replace(target)  # atomic: a crash never leaves half an archive under the name
    return target


def build(*, dest: Path, cmake_args: list[str], jobs: int, cache_dir: Path) -> Path:
    """``dest/llama-server`` built from the pinned llama.cpp (idempotent; cached by key)."""
    version = pinned_llama_version()
    key = hashlib.sha256(" ".join([version, *_CMAKE_OPTIONS, *cmake_args]).encode()).hexdigest()
    cached = cache_dir / f"{version}-{key[:12]}" / BINARY_NAME
    target = dest / BINARY_NAME
    if not cached.exists():
        _compile(version=version, cmake_args=cmake_args, jobs=jobs, out=cached)
    dest.mkdir(parents=True, exist_ok=True)
    if not target.exists() or target.read_bytes() != cached.read_bytes():
        shutil.copy2(cached, target)
    return target


def _compile(*, version: str, cmake_args: list[str], jobs: int, out: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="llama-server-") as tmp:
        work = Path(tmp)
        sdist = llama_sdist(version)
        prefix = f"{sdist.name[: -len('.tar.gz')]}/vendor/llama.cpp/"
        with tarfile.open(sdist) as archive:
            members = [m for m in archive.getmembers() if m.name.startswith(prefix)]
            archive.extractall(work, members=members, filter="data")
        source = work / prefix
        build_dir = work / "build"
        print(f"llama-server: compiling with {jobs} jobs (minutes on two cores)", flush=True)
        subprocess.run(
            ["cmake", "-S", str(source), "-B", str(build_dir), *_CMAKE_OPTIONS, *cmake_args],  # noqa: S607 - cmake from PATH, as pip's own builds find it
            check=True,
            stdout=subprocess.DEVNULL,
        )
        # The build's own "[ 42%] Building ..." lines are the progress.
        subprocess.run(
            ["cmake", "--build", str(build_dir), "--target", BINARY_NAME, "-j", str(jobs)],  # noqa: S607
            check=True,
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_suffix(".partial")
        shutil.copy2(build_dir / "bin" / BINARY_NAME, partial)
        partial.rename(out)  # atomic: a crash never leaves a half binary under the final name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m llm_backend.server")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="compile llama-server from the pinned llama.cpp")
    b.add_argument("--dest", type=Path, required=True)
    b.add_argument("--cmake-args", default="", help='extra CMake flags, e.g. "-DGGML_CUDA=on"')
    b.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    b.add_argument("--cache-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    binary = build(
        dest=args.dest,
        cmake_args=shlex.split(args.cmake_args),
        jobs=args.jobs,
        cache_dir=args.cache_dir or default_cache_dir(),
    )
    print(f"llama-server: {binary}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
