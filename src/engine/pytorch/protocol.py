"""The benchmark protocol as the worker sees it: read from protocol.json and events.schema.json,
the files src/protocol/benchmarks.ts and src/protocol/events.ts import. Nothing here restates a
value. The files sit beside this module in dist/pytorch/ (scripts/build.mjs copies them there) and
in src/protocol/ in the repository; PROTOCOL_DIR (below) is whichever holds them."""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Tuple

_HERE = os.path.dirname(os.path.abspath(__file__))
_CANDIDATES = (_HERE, os.path.join(_HERE, "..", "..", "protocol"))


def _find_dir() -> str:
    for d in _CANDIDATES:
        if os.path.isfile(os.path.join(d, "protocol.json")) and os.path.isfile(os.path.join(d, "events.schema.json")):
            return os.path.normpath(d)
    raise FileNotFoundError("protocol.json and events.schema.json not found beside the worker nor in src/protocol/ "
                            f"(looked in {', '.join(os.path.normpath(d) for d in _CANDIDATES)}); rebuild with `npm run build`")


PROTOCOL_DIR = _find_dir()


def _load(name: str) -> Dict[str, Any]:
    with open(os.path.join(PROTOCOL_DIR, name), encoding="utf-8") as f:
        return json.load(f)


PROTOCOL: Dict[str, Any] = _load("protocol.json")
EVENTS_SCHEMA: Dict[str, Any] = _load("events.schema.json")

PROTOCOL_VERSION: int = PROTOCOL["protocolVersion"]

ENGINE = "pytorch"

# The training recipe (optimizer, lr, momentum, weight decay, batch size, BatchNorm settings); a
# run's spec carries its own copy, so tests and benchmarks start from this one.
RECIPE: Dict[str, Any] = PROTOCOL["recipe"]

# Per-channel mean/std (RGB), applied after augmentation; tuples as the worker's code uses them.
DATASET_STATS: Dict[str, Dict[str, Tuple[float, ...]]] = {
    name: {"mean": tuple(s["mean"]), "std": tuple(s["std"])} for name, s in PROTOCOL["datasets"].items()
}

# The random crop pads every side by this many zero pixels (RandomCrop(32, padding=4)).
CROP_PADDING: int = PROTOCOL["image"]["cropPadding"]
IMAGE_SIZE: int = PROTOCOL["image"]["size"]
IMAGE_CHANNELS: int = PROTOCOL["image"]["channels"]

# Progress events are written every this many training steps (and on an epoch's last step).
PROGRESS_EVERY_STEPS: int = PROTOCOL["pytorchProgressEverySteps"]

# The worker's exit status: 0 when the run completed, else 1.
EXIT_COMPLETED: int = PROTOCOL["exitCodes"]["worker"]["completed"]
EXIT_NOT_COMPLETED: int = PROTOCOL["exitCodes"]["worker"]["notCompleted"]


def _resolve(node: Dict[str, Any]) -> Dict[str, Any]:
    ref = node.get("$ref")
    if not ref:
        return node
    target: Any = EVENTS_SCHEMA
    for part in ref.lstrip("#/").split("/"):
        target = target[part]
    return _resolve(target)


def allowed_values(node: Dict[str, Any]) -> List[str]:
    """The string values a schema node allows (enum, const, anyOf of those); [] for any."""
    n = _resolve(node)
    if "enum" in n:
        return list(n["enum"])
    if "const" in n:
        return [n["const"]]
    return [v for a in n.get("anyOf", []) for v in allowed_values(a)]


ERROR_KINDS: List[str] = allowed_values(EVENTS_SCHEMA["$defs"]["ErrorKind"])
END_STATUSES: List[str] = allowed_values(EVENTS_SCHEMA["$defs"]["EndStatus"])
