"""Detection plug-ins. Every module here that defines a class with a `name` and a `Params`
dataclass is a detector; rules files choose which run. Adding one touches no engine code."""

from __future__ import annotations

import importlib
import pkgutil


def registry() -> dict[str, type]:
    """name -> detector class, for every detector module in this package."""
    found: dict[str, type] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_") or info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for obj in vars(module).values():
            if isinstance(obj, type) and obj.__module__ == module.__name__ and \
                    isinstance(getattr(obj, "name", None), str) and hasattr(obj, "Params"):
                found[obj.name] = obj
    return found
