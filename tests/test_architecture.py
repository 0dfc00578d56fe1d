"""The package's shape, checked: declared capabilities agree with what each backend
implements, and (below) the import graph has no cycle."""

from __future__ import annotations

import sys

import pytest

from storebench import backends
from storebench.backends.base import Capabilities, Store


def registered() -> list[type[Store]]:
    classes = []
    for name in backends.names():
        try:
            classes.append(backends.get(name))
        except ImportError:  # a driver missing here: its module cannot even be imported
            pass
    return classes


def defined_below_store(cls: type[Store], attribute: str) -> bool:
    """Whether `cls` gets `attribute` from a class of its own rather than from `Store`."""
    return next(k for k in cls.__mro__ if attribute in vars(k)) is not Store


@pytest.mark.parametrize("cls", registered(), ids=lambda cls: cls.name)
def test_declared_hooks_are_exactly_the_ones_implemented(cls):
    declared = cls.capabilities
    assert isinstance(declared, Capabilities)
    assert declared.backup == defined_below_store(cls, "backup")
    assert declared.second_device == defined_below_store(cls, "second_device_target")
    assert declared.paging == defined_below_store(cls, "load_page")
    assert declared.emulated == defined_below_store(cls, "emulated")


@pytest.mark.parametrize("cls", [c for c in registered() if c.capabilities.required_modules], ids=lambda cls: cls.name)
def test_a_missing_required_module_makes_the_backend_unavailable(cls, monkeypatch):
    for module in cls.capabilities.required_modules:
        with monkeypatch.context() as patch:
            patch.setitem(sys.modules, module, None)  # `import module` now raises ImportError
            reason = cls.unavailable_reason()
        assert reason is not None, f"{cls.name} runs without {module}, which it declares it needs"


def test_needs_are_from_the_known_list():
    with pytest.raises(ValueError, match="unknown needs"):
        Capabilities(needs=("rqlite",))
