"""Checkpoints of a run, in `<runDir>/checkpoint/` (the contract both engines keep):

- `ckpt-e<epoch>-s<step>.pt`: torch.save of the model's state_dict (weights and norm buffers),
  the optimizer's state (momentum), the position, the current epoch's partial sums and data order,
  best/final accuracy and every RNG state (the engine's data-order/augmentation generator, torch's
  global CPU and CUDA generators, Python's `random`, numpy's when a variant imported it). Written
  to a temporary file, flushed, fsynced and renamed into place.
- `last.json`: what the data file is (sha256, bytes) and which run wrote it, replaced atomically
  after the data file is complete; older data files are deleted afterwards. A kill at any point
  leaves a last.json that names a complete data file, or none.

`epoch`/`step` say where a resume continues: the 0-based epoch and the steps of it already done
(after an epoch ends: the next epoch, step 0). A resume refuses a torn checkpoint or one from
another run (engine, format, Regbench version, variant, benchmark, seed, epochs, subsets)."""

from __future__ import annotations

import ctypes
import datetime
import hashlib
import inspect
import io
import json
import os
import platform
import random
import re
import sys
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional

import torch
from torch import nn

from errors import INTERNAL, USAGE, RunError
from protocol import ENGINE

FORMAT = 1
DIR_NAME = "checkpoint"
META_NAME = "last.json"
DATA_NAME = re.compile(r"^ckpt-e(\d+)-s(\d+)\.pt$")
TMP_PREFIX = ".tmp-"

# last.json fields a resume must find equal to this run's (spec field names).
MATCHED = ("format", "engine", "regbenchVersion", "variantHash", "bench", "arch", "seed", "epochs", "trainSubset",
           "testSubset")


def data_name(epoch: int, step: int) -> str:
    return f"ckpt-e{epoch}-s{step}.pt"


def regbench_version(spec: Mapping[str, Any], env: Mapping[str, str] = os.environ,
                     here: Optional[str] = None) -> str:
    """spec.regbenchVersion when the runner sends it, else $REGBENCH_VERSION, else the version in
    the package.json of the regbench package this worker is part of: two levels above the worker's
    folder when shipped (dist/pytorch/), three in the source tree (src/engine/pytorch/)."""
    value = spec.get("regbenchVersion")
    if isinstance(value, str) and value:
        return value
    if env.get("REGBENCH_VERSION"):
        return env["REGBENCH_VERSION"]
    folder = os.path.dirname(os.path.abspath(here or __file__))
    for _ in range(4):
        folder = os.path.dirname(folder)
        try:
            with open(os.path.join(folder, "package.json"), encoding="utf-8") as f:
                package = json.load(f)
        except (OSError, ValueError):
            continue
        if isinstance(package, dict) and package.get("name") == "regbench" and isinstance(package.get("version"), str):
            return package["version"]
    return "unknown"


def tensor_bytes(t: torch.Tensor) -> bytes:
    """The raw bytes of a tensor (contiguous, on the CPU, native byte order)."""
    c = t.detach().to("cpu").contiguous()
    return ctypes.string_at(c.data_ptr(), c.numel() * c.element_size()) if c.numel() else b""


def weights_sha256(model: nn.Module) -> str:
    """sha256 over the raw bytes of every state_dict tensor (weights and buffers), in state_dict
    order (the model's definition order); names, shapes and dtypes are not hashed."""
    h = hashlib.sha256()
    for t in model.state_dict().values():
        h.update(tensor_bytes(t))
    return h.hexdigest()


# --- RNG states ----------------------------------------------------------------------------

def capture_rng(engine_generator: torch.Generator, device: torch.device) -> Dict[str, Any]:
    version, internal, gauss = random.getstate()
    states: Dict[str, Any] = {
        "engine": engine_generator.get_state(),
        "torch": torch.get_rng_state(),
        "python": {"version": version, "internal": list(internal), "gauss": gauss},
    }
    if device.type == "cuda" and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    np = sys.modules.get("numpy")
    if np is not None:
        kind, keys, pos, has_gauss, cached = np.random.get_state()
        states["numpy"] = {"kind": kind, "keys": [int(k) for k in keys], "pos": int(pos), "hasGauss": int(has_gauss),
                           "cached": float(cached)}
    return states


def restore_rng(states: Mapping[str, Any], engine_generator: torch.Generator, device: torch.device) -> None:
    engine_generator.set_state(states["engine"])
    torch.set_rng_state(states["torch"])
    py = states["python"]
    random.setstate((py["version"], tuple(py["internal"]), py["gauss"]))
    if "cuda" in states and device.type == "cuda":
        torch.cuda.set_rng_state_all(states["cuda"])
    if "numpy" in states:
        import numpy as np
        s = states["numpy"]
        np.random.set_state((s["kind"], np.array(s["keys"], dtype=np.uint32), s["pos"], s["hasGauss"], s["cached"]))


# --- writing -------------------------------------------------------------------------------

@dataclass
class Written:
    file: str
    bytes: int
    sha256: str
    weights_sha256: str
    seconds: float


def _fsync_dir(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_atomic(path: str, blob: Any) -> None:
    tmp = os.path.join(os.path.dirname(path), f"{TMP_PREFIX}{os.getpid()}-{os.path.basename(path)}")
    with open(tmp, "wb") as f:
        f.write(blob)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write(folder: str, payload: Dict[str, Any], meta: Dict[str, Any], model: nn.Module) -> Written:
    """Writes the data file, then last.json, then deletes older data files. `meta` gets the
    file's fields (epoch and step come from the payload)."""
    started = time.perf_counter()
    epoch, step = int(payload["epoch"]), int(payload["step"])
    name = data_name(epoch, step)
    try:
        os.makedirs(folder, exist_ok=True)
        buffer = io.BytesIO()
        torch.save(payload, buffer)
        blob = buffer.getbuffer()
        digest = hashlib.sha256(blob).hexdigest()
        _write_atomic(os.path.join(folder, name), blob)
        weights = weights_sha256(model)
        record = dict(meta, epoch=epoch, step=step, file=name, bytes=len(blob), sha256=digest, weightsSha256=weights,
                      time=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"))
        _write_atomic(os.path.join(folder, META_NAME), (json.dumps(record, indent=1) + "\n").encode("utf-8"))
        _fsync_dir(folder)
        for other in os.listdir(folder):
            if other != name and (DATA_NAME.match(other) or other.startswith(TMP_PREFIX)):
                try:
                    os.remove(os.path.join(folder, other))
                except OSError:
                    pass
    except OSError as e:
        raise RunError(INTERNAL, f"cannot write the checkpoint {os.path.join(folder, name)}: {e.strerror or e}; "
                                 f"free disk space or fix the run folder's permissions", file=os.path.join(folder, name)) from e
    return Written(name, len(blob), digest, weights, time.perf_counter() - started)


# --- reading -------------------------------------------------------------------------------

def _refuse(message: str, file: str) -> RunError:
    return RunError(USAGE, message, file=file)


def read_meta(folder: str) -> Optional[Dict[str, Any]]:
    """last.json, or None when there is none. A torn or unreadable one is refused."""
    path = os.path.join(folder, META_NAME)
    if not os.path.exists(path):
        return None
    start_over = f"delete {folder} to start the run over from epoch 0"
    try:
        with open(path, encoding="utf-8") as f:
            meta = json.load(f)
    except (OSError, ValueError) as e:
        raise _refuse(f"checkpoint {path} is torn or unreadable ({e}); {start_over}", path) from e
    if not isinstance(meta, dict) or not isinstance(meta.get("file"), str) or not DATA_NAME.match(meta["file"]):
        raise _refuse(f"checkpoint {path} is torn: it names no ckpt-e<epoch>-s<step>.pt data file; {start_over}", path)
    return meta


def check_meta(folder: str, meta: Mapping[str, Any], expected: Mapping[str, Any]) -> str:
    """Refuses a checkpoint of another run, or whose data file is missing, torn or changed.
    Returns the data file's path."""
    path = os.path.join(folder, str(meta["file"]))
    differ: List[str] = [f"{k} is {json.dumps(meta.get(k))} there but {json.dumps(v)} here"
                         for k, v in expected.items() if meta.get(k) != v]
    if differ:
        raise _refuse(f"checkpoint {path} is from another run ({'; '.join(differ)}); resume it with the same "
                      f"Regbench version, engine, variant, benchmark, seed and budget, or delete {folder} to start "
                      f"this run over from epoch 0", path)
    start_over = f"delete {folder} to start the run over from epoch 0"
    try:
        with open(path, "rb") as f:
            blob = f.read()
    except OSError as e:
        raise _refuse(f"checkpoint {path} cannot be read ({e.strerror or e}) although {META_NAME} names it; {start_over}",
                      path) from e
    digest = hashlib.sha256(blob).hexdigest()
    if len(blob) != meta.get("bytes") or digest != meta.get("sha256"):
        raise _refuse(f"checkpoint {path} is torn or was changed: {len(blob)} bytes with sha256 {digest[:16]}…, "
                      f"{META_NAME} says {meta.get('bytes')} bytes with sha256 {str(meta.get('sha256'))[:16]}…; "
                      f"{start_over}", path)
    return path


def load_payload(path: str) -> Dict[str, Any]:
    """The data file's content, every tensor on the CPU (load_state_dict moves them where the
    model and optimizer live, so a CUDA checkpoint loads on the CPU and back)."""
    # Loaded as a full pickle: torch 1.13's weights-only loader rejects plain floats, and the file
    # is the one this run folder's last.json vouches for (its sha256 was checked before). Newer
    # torch defaults to weights_only=True, hence the explicit False.
    kwargs: Dict[str, Any] = {"weights_only": False} if "weights_only" in inspect.signature(torch.load).parameters else {}
    try:
        payload = torch.load(path, map_location="cpu", **kwargs)
    except Exception as e:
        raise _refuse(f"checkpoint {path} cannot be loaded ({type(e).__name__}: {e}); delete "
                      f"{os.path.dirname(path)} to start the run over from epoch 0", path) from e
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise _refuse(f"checkpoint {path} is not a format-{FORMAT} Regbench checkpoint; delete "
                      f"{os.path.dirname(path)} to start the run over from epoch 0", path)
    return payload


def run_meta(spec: Mapping[str, Any], device: torch.device, threads: int, version: str) -> Dict[str, Any]:
    """The fields of last.json that describe the run (everything but the position and the file)."""
    return {
        "format": FORMAT,
        "engine": ENGINE,
        "regbenchVersion": version,
        "engineVersions": {"python": platform.python_version(), "torch": str(torch.__version__).split("+")[0]},
        "backend": f"torch-{device.type}",
        "threads": threads,
        "bench": spec.get("bench"),
        "arch": spec.get("arch"),
        "variantHash": spec.get("variantHash"),
        "seed": spec.get("seed"),
        "epochs": spec.get("epochs"),
        "trainSubset": spec.get("trainSubset"),
        "testSubset": spec.get("testSubset"),
        "budget": spec.get("budget"),
    }
