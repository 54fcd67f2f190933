"""Devices: the code that gives a message's keys their values.

A device is either a :class:`Device` subclass, whose handlers are methods
marked with :func:`key`, or (as upstream allows, and tests use) a plain dict
from key names to callables. Handlers take ``(base, request, opts)``, or
``(key, base, request, opts)`` when they serve many keys; shorter signatures
get the leading arguments only, as upstream's ``truncate_args`` does. They
return ``(status, value)``: ``("ok", value)`` or ``("error", reason)``.

Upstream: the device contract documented in hb_ao.erl.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any, ClassVar, TypeVar

from hyperbeam.message.model import normalize_key

Result = tuple[str, Any]
Handler = Callable[..., Any]
F = TypeVar("F", bound=Callable[..., Any])

_KEY_ATTR = "__hyperbeam_key__"


def key(name: str) -> Callable[[F], F]:
    """Mark a method as the handler of the wire key ``name``."""

    def mark(func: F) -> F:
        setattr(func, _KEY_ATTR, normalize_key(name))
        return func

    return mark


def _function_key(name: str) -> str:
    """Keys match functions with ``-`` read as ``_``. Upstream: key_to_atom/2."""
    return normalize_key(name).replace("-", "_")


class Device:
    """Base class of built-in devices. ``name`` is the wire name, ``x@1.0``."""

    name: ClassVar[str] = ""
    KEYS: ClassVar[Mapping[str, str]] = {}
    #: Keys whose results are never stored, nor looked up in the cache
    #: (which would mean taking the base's ID for nothing). ``*`` means
    #: every key.
    VOLATILE: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        keys: dict[str, str] = {}
        for klass in reversed(cls.__mro__):
            for attr, value in vars(klass).items():
                wire = getattr(value, _KEY_ATTR, None)
                if wire is not None:
                    keys[_function_key(wire)] = attr
        cls.KEYS = keys

    def info(self, msg: Any, opts: Mapping[str, Any]) -> dict[str, Any]:
        """Options for the resolver: ``exports``, ``excludes``, ``handler``,
        ``default``, ``grouper``. Empty by default."""
        return {}

    def __repr__(self) -> str:
        return f"<device {self.name}>"


DeviceLike = Device | Mapping[str, Any]


@lru_cache(maxsize=4096)
def _arity(func: Callable[..., Any]) -> int:
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):  # pragma: no cover - builtins
        return 4
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return 4
    return sum(1 for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))


def call_truncated(func: Callable[..., Any], args: list[Any]) -> Any:
    """Call ``func`` with as many leading ``args`` as it accepts."""
    try:
        arity = _arity(func)
    except TypeError:  # unhashable callable
        arity = len(args)
    return func(*args[:arity])


def device_info(dev: DeviceLike, msg: Any, opts: Mapping[str, Any]) -> dict[str, Any]:
    """The ``info`` of a device. Upstream: hb_ao:info/3."""
    if isinstance(dev, Device):
        return dev.info(msg, opts)
    info = _map_get(dev, "info")
    if callable(info):
        result = call_truncated(info, [msg, opts])
        return dict(result) if isinstance(result, Mapping) else {}
    return {}


def _map_get(dev: Mapping[str, Any], name: str) -> Any:
    wanted = normalize_key(name)
    if wanted in dev:
        return dev[wanted]
    for k, v in dev.items():
        if normalize_key(k) == wanted:
            return v
    return None


def is_exported(info: Mapping[str, Any], name: Any) -> bool:
    """Is ``name`` a key of the device? Upstream: hb_ao:is_exported/2."""
    if name == "info":
        return True
    wanted = normalize_key(name)
    excludes = info.get("excludes")
    if excludes and wanted in {normalize_key(k) for k in excludes}:
        return False
    exports = info.get("exports")
    if exports is not None:
        return wanted in {normalize_key(k) for k in exports}
    return True


def find_function(dev: DeviceLike, name: Any, info: Mapping[str, Any]) -> Handler | None:
    """The handler that ``dev`` declares for key ``name``, if exported."""
    if not isinstance(name, str | int):
        return None
    if not is_exported(info, name):
        return None
    if isinstance(dev, Device):
        attr = dev.KEYS.get(_function_key(str(name)))
        return getattr(dev, attr) if attr is not None else None
    func = _map_get(dev, normalize_key(name))
    return func if callable(func) else None
