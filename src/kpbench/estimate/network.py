"""Which network to trace: one of kpbench's by name, or a user's ``FILE.py:FUNCTION`` returning an nn.Module.

A user's file that does not import, lacks the function, returns something that is not a module,
or fails on the input shape is one line naming the file (KpbenchError, exit 2), never a traceback.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kpbench.errors import KpbenchError
from kpbench.estimate.trace import FACE_SHAPE, Trace, trace_step


@dataclass(frozen=True)
class Network:
    label: str  # what tables call it: the kpbench name, or FILE.py:FUNCTION
    build: str | Callable  # what trace_step takes: a kpbench name, or the user's function
    input_shape: tuple[int, ...]
    file: Path | None = None  # the user's file, named in errors

    @property
    def kpbench(self) -> bool:
        return isinstance(self.build, str)

    def trace(self, *, batch_size: int, precision: str, inference: bool = False) -> Trace:
        """trace_step on this network; a user's network failing inside is one line naming its file."""
        try:
            return trace_step(self.build, batch_size=batch_size, precision=precision, input_shape=self.input_shape,
                              label=self.label, inference=inference)
        except KpbenchError as e:
            if self.file is None:
                raise
            raise KpbenchError(f"{self.file.name}: {e}") from None
        except Exception as e:  # the user's code, at its first forward pass: say what broke, where
            if self.file is None:
                raise
            shape = ",".join(map(str, self.input_shape))
            raise KpbenchError(f"{self.file.name}: {self.label.split(':')[-1]}() fails on input shape {shape} "
                               f"({type(e).__name__}: {' '.join(str(e).split())})") from None


def parse_shape(text: str | None) -> tuple[int, ...] | None:
    """"1,96,96" → (1, 96, 96); None stays None; anything else is one line saying what is expected."""
    if text is None:
        return None
    try:
        shape = tuple(int(x) for x in text.replace("x", ",").split(","))
    except ValueError:
        shape = ()
    if not shape or any(d < 1 for d in shape):
        raise KpbenchError(f"--input-shape {text!r}: expected positive whole numbers C,H,W such as 1,96,96")
    return shape


def resolve(spec: str, input_shape: tuple[int, ...] | None = None) -> Network:
    """A kpbench model name, or FILE.py:FUNCTION (the function takes no arguments, returns an nn.Module)."""
    from kpbench.models import MODEL_NAMES

    if spec in MODEL_NAMES:
        if input_shape is not None and tuple(input_shape) != FACE_SHAPE:
            raise KpbenchError(f"--input-shape: kpbench's network {spec!r} takes {','.join(map(str, FACE_SHAPE))} images")
        return Network(spec, spec, FACE_SHAPE)
    path_text, sep, function = spec.rpartition(":")
    if not sep or not path_text.endswith(".py") or not function:
        raise KpbenchError(f"--model {spec!r}: not one of kpbench's networks ({', '.join(MODEL_NAMES)}) "
                           "nor FILE.py:FUNCTION")
    path = Path(path_text)
    if input_shape is None:
        raise KpbenchError(f"--model {spec}: give --input-shape C,H,W (the shape of one input, such as 1,96,96)")
    return Network(spec, _load_function(path, function), tuple(input_shape), file=path)


def _load_function(path: Path, function: str) -> Callable:
    if not path.is_file():
        raise KpbenchError(f"{path}: no such file")
    name = f"kpbench_user_model_{abs(hash(path.resolve()))}"
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses and pickling look modules up by name
        spec.loader.exec_module(module)
    except Exception as e:  # any error of the user's file: name it, with the error's own words
        sys.modules.pop(name, None)
        raise KpbenchError(f"{path.name}: does not import ({type(e).__name__}: {' '.join(str(e).split())})") from None
    fn = getattr(module, function, None)
    if not callable(fn):
        raise KpbenchError(f"{path.name}: has no function {function!r}")

    def build():
        try:
            return fn()
        except Exception as e:
            raise KpbenchError(f"{function}() failed ({type(e).__name__}: {' '.join(str(e).split())})") from None

    build.__name__ = function
    return build
