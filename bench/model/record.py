"""The machinery under the results model: dataclasses read from and written to JSON objects.

A `Record` declares its keys as dataclass fields, each with a one-line doc (from which
docs/results-schema.md is generated) and whether producers always write it (`always`) or
only when they have it (`optional`). Reading keeps what the declaration does not know: keys
it does not declare go to `extra`, and the keys present and their order are remembered, so a
file read and written again has the same keys in the same order, whether it is older or
newer than this code. Setting a declared field marks its key present.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import MISSING, Field, dataclass, field, fields
from typing import Any, TypeVar

from storebench.errors import UsageError

R = TypeVar("R", bound="Record")

EXTRA = "extra"


class ResultsError(UsageError, ValueError):
    """A results file that cannot be used; the message is one line saying why."""


def key(doc: str, *, optional: bool = False, default: Any = None, model: type[Record] | None = None,
        shape: str = "one") -> Any:
    """A declared key: its doc, whether it is optional, and for a nested record its class and
    shape ("one": an object, "list": a list of objects, "map": an object of objects)."""
    meta = {"doc": doc, "optional": optional, "model": model, "shape": shape}
    if default is MISSING:  # every reader relies on it: validation has made sure it is there
        return field(metadata=meta)
    if isinstance(default, (list, dict)):
        return field(default_factory=type(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class Record:
    """Base of the model's classes (see the module docstring)."""

    extra: dict[str, Any] = field(default_factory=dict, kw_only=True, repr=False,
                                  metadata={"doc": "keys this version does not declare, kept on round trip"})

    def __post_init__(self) -> None:
        present = [f.name for f in declared(type(self))
                   if not f.metadata["optional"] or getattr(self, f.name) is not None]
        object.__setattr__(self, "_keys", [*present, *self.extra])

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        keys = self.__dict__.get("_keys")
        if keys is not None and name != EXTRA and name not in keys:
            keys.append(name)

    @classmethod
    def from_dict(cls: type[R], data: dict, where: str = "results", path: str = "") -> R:
        """The record of a JSON object (at `path` in the file `where`), nested records included;
        a missing required key or a nested value of the wrong JSON type is a ResultsError
        naming its path."""
        known = {f.name: f for f in declared(cls)}
        missing = [name for name, f in known.items() if _required(f) and name not in data]
        if missing:
            raise ResultsError(f"{where}: {path or 'the file'} has no \"{missing[0]}\"")
        values = {name: _decode(f, data[name], where, f"{path}.{name}".lstrip("."))
                  for name, f in known.items() if name in data}
        record = cls(**values, extra={k: v for k, v in data.items() if k not in known})
        object.__setattr__(record, "_keys", list(data))
        return record

    def has(self, name: str) -> bool:
        """Whether the key is in the object, null or not (absent: that stage or backend did not write it)."""
        return name in self.__dict__["_keys"] or name in self.extra

    def to_dict(self) -> dict:
        """The JSON object: the keys present, in the order read or set."""
        out = {}
        for name in self.__dict__["_keys"]:
            if name in self.extra:
                out[name] = self.extra[name]
            elif name in self.__dataclass_fields__:
                out[name] = _encode(self.__dataclass_fields__[name], getattr(self, name))
        for name, value in self.extra.items():  # added to `extra` after reading
            out.setdefault(name, value)
        return out


def declared(cls: type[Record]) -> Iterator[Field]:
    """The fields that are keys of the JSON object (all but `extra`)."""
    return (f for f in fields(cls) if f.name != EXTRA)


def _required(f: Field) -> bool:
    return f.default is MISSING and f.default_factory is MISSING


def _decode(f: Field, value: Any, where: str, path: str) -> Any:
    model, shape = f.metadata.get("model"), f.metadata.get("shape")
    if model is None or value is None:
        return value
    if shape == "list":
        if not isinstance(value, list):
            raise ResultsError(f"{where}: {path} must be a list")
        return [_decode_one(model, item, where, f"{path}[{i}]") for i, item in enumerate(value)]
    if shape == "map":
        if not isinstance(value, dict):
            raise ResultsError(f"{where}: {path} must be an object")
        return {k: _decode_one(model, item, where, f"{path}.{k}") for k, item in value.items()}
    return _decode_one(model, value, where, path)


def _decode_one(model: type[Record], value: Any, where: str, path: str) -> Record:
    if not isinstance(value, dict):
        raise ResultsError(f"{where}: {path} must be an object")
    return model.from_dict(value, where, path)


def _encode(f: Field, value: Any) -> Any:
    if f.metadata.get("model") is None or value is None:
        return value
    if f.metadata["shape"] == "list":
        return [item.to_dict() for item in value]
    if f.metadata["shape"] == "map":
        return {k: item.to_dict() for k, item in value.items()}
    return value.to_dict()
