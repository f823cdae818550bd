"""Task names to task factories: the built-in tasks, the ``negoray.tasks`` entry points, and
``module:object`` paths (a third-party task named in the config)."""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from negoray.config import ExperimentConfig
    from negoray.tasks.base import Task, TaskFactory

BUILT_IN: Mapping[str, str] = {
    "negotiation": "negoray.tasks.negotiation:make_task",
    "classify": "negoray.tasks.classify:make_task",
}
"""The tasks that ship with negoray, by name, as ``module:factory`` paths."""

ENTRY_POINT_GROUP = "negoray.tasks"
"""The entry point group a package registers its tasks in (name -> ``module:factory``)."""


class TaskNotFound(LookupError):
    """A ``task`` value that names no task; the message says what is allowed."""


def _allowed() -> str:
    names = sorted({*BUILT_IN, *(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))})
    return ", ".join(f'"{n}"' for n in names) + ', or "module:object" (a task factory)'


def _load(path: str, key: str) -> Any:
    module_name, _, attr = path.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as e:
        raise TaskNotFound(f"{key} = {path!r}: cannot import {module_name!r} ({e}); expected {_allowed()}") from None
    for part in attr.split(".") if attr else ():
        if not hasattr(obj, part):
            raise TaskNotFound(f"{key} = {path!r}: {module_name!r} has no {attr!r}; expected {_allowed()}")
        obj = getattr(obj, part)
    return obj


def resolve(name: str, key: str = "task") -> TaskFactory:
    """The factory of the task called ``name`` (built in, an entry point, or ``module:object``);
    `TaskNotFound` names ``key`` and what is allowed."""
    if name in BUILT_IN:
        return _load(BUILT_IN[name], key)
    for ep in entry_points(group=ENTRY_POINT_GROUP, name=name):
        return ep.load()
    if ":" in name:
        factory = _load(name, key)
        if not callable(factory):
            raise TaskNotFound(f"{key} = {name!r} is not callable; expected a factory (config, options) -> Task")
        return factory
    raise TaskNotFound(f"{key} = {name!r} is not a task; expected {_allowed()}")


def make_task(config: ExperimentConfig) -> Task:
    """The config's task, built from its ``[task]`` options."""
    return resolve(config.task_name)(config, config.task_options)


def _resolved(value: Any, folder: Path) -> Any:
    """A path option's value with each relative path made absolute under ``folder`` (``~`` expanded);
    what is not a string is left for the task to reject."""
    if isinstance(value, str):
        return os.path.abspath(folder / os.path.expanduser(value))
    if isinstance(value, Mapping):
        return {k: _resolved(v, folder) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_resolved(v, folder) for v in value]
    return value


def resolve_paths(config: ExperimentConfig, folder: Path | str) -> ExperimentConfig:
    """``config`` with its task's file options (the factory's ``path_options``,
    `negoray.tasks.base.PATH_OPTIONS_ATTRIBUTE`) relative to ``folder``, the config file's: a path
    in a config names a file beside the config, wherever the command runs; absolute ones stay. The
    resolved paths are what ``config.json`` keeps, so the report finds the files again."""
    import dataclasses

    from negoray.tasks.base import PATH_OPTIONS_ATTRIBUTE

    keys = getattr(resolve(config.task_name), PATH_OPTIONS_ATTRIBUTE, ())
    options = config.task_options
    if isinstance(config.task, str) or not any(k in options for k in keys):
        return config
    base = Path(os.path.abspath(folder))
    task = {**config.task, **{k: _resolved(options[k], base) for k in keys if k in options}}
    return dataclasses.replace(config, task=task)
