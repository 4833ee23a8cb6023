"""Loads a user's variant file and runs it under guard. A variant defines
`compute_regularization(model, inputs, outputs, targets, config)` (a scalar added to the loss
every training step) and/or `class CustomNorm(nn.Module)` (built as CustomNorm(num_features) for
every BatchNorm2d slot). Every failure becomes a RunError of kind 'variant' whose message names
the file and, when there is one, the line to fix."""

from __future__ import annotations

import importlib.util
import itertools
import math
import os
import sys
import traceback
from types import ModuleType
from typing import Any, Callable, Dict, List, Optional, Tuple

import torch
from torch import nn

from errors import VARIANT, RunError
from variant_source import compile_variant

REGULARIZER_NAME = "compute_regularization"
# Optional: `def setup(model)`, called once the model is built (see Variant.setup).
SETUP_NAME = "setup"
NORM_NAME = "CustomNorm"
_MAX_MESSAGE = 400
_module_counter = itertools.count()


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.realpath(a) == os.path.realpath(b)
    except (OSError, ValueError):
        return a == b


def _first_line(text: str) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= _MAX_MESSAGE else line[: _MAX_MESSAGE - 3] + "..."


def _exception_text(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def variant_line(exc: BaseException, path: str) -> Optional[int]:
    """The line of the innermost traceback frame inside the variant file."""
    line: Optional[int] = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if _same_file(frame.filename, path):
            line = frame.lineno
    return line


def _code_line(obj: Any, path: str) -> Optional[int]:
    """First line of a function (or a class's method) defined in the variant file."""
    code = getattr(obj, "__code__", None)
    if code is not None and _same_file(code.co_filename, path):
        return int(code.co_firstlineno)
    return None


def _class_line(cls: Any, path: str) -> Optional[int]:
    for attr in ("forward", "__init__"):
        line = _code_line(getattr(cls, attr, None), path)
        if line is not None:
            return line
    return None


def error_from_exception(exc: BaseException, path: str, context: str,
                         epoch: Optional[int] = None, step: Optional[int] = None) -> RunError:
    """A 'variant' RunError for an exception raised while running variant code (directly, or in
    the model/autograd while the variant's norm or term was part of it): `path:line: Type: msg`,
    the full traceback in detail."""
    line = variant_line(exc, path)
    where = f"{path}:{line}" if line is not None else path
    detail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return RunError(VARIANT, _first_line(f"{where}: {_exception_text(exc)} ({context})"), file=path, line=line,
                    detail=detail, epoch=epoch, step=step)


class Variant:
    """What a variant file exports, plus the guards that run it."""

    def __init__(self, path: str, module: ModuleType) -> None:
        self.path = path
        self.module = module
        reg = getattr(module, REGULARIZER_NAME, None)
        norm = getattr(module, NORM_NAME, None)
        self.regularizer: Optional[Callable[..., Any]] = reg if callable(reg) else None
        self.norm_class: Optional[Any] = norm if callable(norm) else None
        setup = getattr(module, SETUP_NAME, None)
        self.setup_fn: Optional[Callable[..., Any]] = setup if callable(setup) else None
        self._norm_instances: List[nn.Module] = []
        self._shape_hooks: List[Any] = []

    def setup(self, model: nn.Module) -> None:
        """Calls the variant's optional `setup(model)` once the model exists, before the first step
        of every segment (a fresh run and each resume): where a variant installs forward hooks or
        other state that must exist before a forward pass, so a resumed run's first step is the
        same as the uninterrupted run's."""
        if self.setup_fn is None:
            return
        try:
            self.setup_fn(model)
        except Exception as exc:  # the variant's code: any exception is the variant's error
            raise error_from_exception(exc, self.path, "in setup(model)") from exc

    @property
    def kind(self) -> Dict[str, bool]:
        return {"regularizer": self.regularizer is not None, "norm": self.norm_class is not None}

    # --- CustomNorm --------------------------------------------------------------------------

    def norm_factory(self) -> Optional[Callable[[int], nn.Module]]:
        cls = self.norm_class
        if cls is None:
            return None

        def make(num_features: int) -> nn.Module:
            try:
                inst = cls(num_features)
            except Exception as exc:  # a broken constructor is the variant's error
                raise error_from_exception(exc, self.path, f"while building CustomNorm({num_features})") from exc
            if not isinstance(inst, nn.Module):
                line = _class_line(cls, self.path)
                raise RunError(VARIANT, f"{self.path}{f':{line}' if line else ''}: CustomNorm({num_features}) made a "
                                        f"{type(inst).__name__}, not a torch.nn.Module; define `class CustomNorm(nn.Module)`",
                               file=self.path, line=line)
            self._norm_instances.append(inst)
            return inst

        return make

    def install_shape_checks(self, model: nn.Module) -> None:
        """Checks that every CustomNorm returns a tensor of its input's shape and dtype, naming the
        slot (e.g. layer2.0.bn1) when it does not. The trainer removes the checks once a training
        step and an evaluation have passed them (both modes of every slot have run)."""
        if not self._norm_instances:
            return
        ids = {id(m) for m in self._norm_instances}
        line = _class_line(self.norm_class, self.path)
        for name, module in model.named_modules():
            if id(module) not in ids:
                continue

            def check(mod: nn.Module, inputs: Tuple[Any, ...], output: Any, slot: str = name) -> None:
                x = inputs[0] if inputs else None
                if not isinstance(x, torch.Tensor):
                    return
                if not isinstance(output, torch.Tensor):
                    problem = f"returned a {type(output).__name__} for an input of shape {list(x.shape)}; it must return a tensor"
                elif output.shape != x.shape:
                    problem = (f"returned shape {list(output.shape)} for an input of shape {list(x.shape)}; "
                               f"it must return the input's shape")
                elif output.dtype != x.dtype:
                    problem = f"returned {output.dtype} for a {x.dtype} input; it must keep the input's dtype"
                else:
                    return
                raise RunError(VARIANT, f"{self.path}{f':{line}' if line else ''}: CustomNorm at {slot} {problem}",
                               file=self.path, line=line)

            self._shape_hooks.append(module.register_forward_hook(check))

    def remove_shape_checks(self) -> None:
        for handle in self._shape_hooks:
            handle.remove()
        self._shape_hooks = []

    # --- compute_regularization --------------------------------------------------------------

    def regularization(self, model: nn.Module, inputs: torch.Tensor, outputs: torch.Tensor, targets: torch.Tensor,
                       config: Dict[str, Any]) -> torch.Tensor:
        """Calls the regularizer and returns its term as a 0-d float tensor on the outputs' device.
        Exceptions propagate (the caller knows epoch and step); a wrong return is a RunError."""
        fn = self.regularizer
        if fn is None:
            return outputs.new_zeros(())
        value = fn(model, inputs, outputs, targets, config)
        line = _code_line(fn, self.path)
        where = f"{self.path}:{line}" if line is not None else self.path
        if isinstance(value, bool) or value is None or not isinstance(value, (torch.Tensor, int, float)):
            raise RunError(VARIANT, f"{where}: compute_regularization returned {type(value).__name__}; "
                                    f"return a scalar tensor (torch.zeros(()) for no penalty)", file=self.path, line=line)
        if not isinstance(value, torch.Tensor):
            return outputs.new_tensor(float(value))
        if value.numel() != 1:
            raise RunError(VARIANT, f"{where}: compute_regularization returned a tensor of shape {list(value.shape)}; "
                                    f"it must return a scalar (reduce it with .mean() or .sum())", file=self.path, line=line)
        if value.is_complex():
            raise RunError(VARIANT, f"{where}: compute_regularization returned a complex tensor; return a real scalar",
                           file=self.path, line=line)
        value = value.reshape(())
        if not value.is_floating_point():
            value = value.to(outputs.dtype)
        return value.to(outputs.device)

    def non_finite_term_error(self, value: float, epoch: int, step: int) -> RunError:
        line = _code_line(self.regularizer, self.path)
        where = f"{self.path}:{line}" if line is not None else self.path
        what = "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")
        return RunError(VARIANT, f"{where}: compute_regularization returned {what} at epoch {epoch + 1} step {step}",
                        file=self.path, line=line, epoch=epoch, step=step)


def load_variant(path: str) -> Variant:
    """Compiles and imports the file under a module name of its own; it must define at least one
    of compute_regularization and CustomNorm."""
    compile_variant(path)

    name = f"regbench_variant_{next(_module_counter)}_{abs(hash(os.path.realpath(path))) % 10**8}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise RunError(VARIANT, f"{path}: Python cannot import this file (is it a .py file?)", file=path)
    module = importlib.util.module_from_spec(spec)
    # Registered before running so that dataclasses, pickling and typing lookups by module work.
    sys.modules[name] = module
    # Helper modules beside the variant stay importable; the worker's own modules win a name clash.
    folder = os.path.dirname(os.path.abspath(path))
    if folder not in sys.path:
        sys.path.append(folder)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(name, None)
        raise error_from_exception(exc, path, "while importing the variant") from exc
    variant = Variant(path, module)
    if variant.regularizer is None and variant.norm_class is None:
        raise RunError(VARIANT, f"{path}: defines neither `def {REGULARIZER_NAME}(model, inputs, outputs, targets, config)` "
                                f"nor `class {NORM_NAME}(nn.Module)`; define at least one", file=path)
    return variant
