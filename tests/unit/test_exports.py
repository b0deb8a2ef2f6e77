"""``websocket.__all__`` is exactly the public names the package exports, and each has one home."""

from __future__ import annotations

import importlib
import inspect

import pytest

import websocket


def test_every_public_name_is_in_all_and_every_name_in_all_exists() -> None:
    public = {name for name in vars(websocket) if not name.startswith("_")}
    assert public == set(websocket.__all__)
    assert len(websocket.__all__) == len(set(websocket.__all__))


@pytest.mark.parametrize("name", sorted(websocket.__all__))
def test_classes_and_functions_live_in_the_package(name: str) -> None:
    value = getattr(websocket, name)
    if inspect.isclass(value) or inspect.isfunction(value):
        home = importlib.import_module(value.__module__)
        assert value.__module__.startswith("websocket."), value.__module__
        assert getattr(home, value.__name__) is value


def test_the_version_is_exported_but_not_in_all() -> None:
    assert isinstance(websocket.__version__, str) and "__version__" not in websocket.__all__
