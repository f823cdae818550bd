"""The classify task (V8: multi-domain sentiment): data, parsing, scoring, feedback, the sim's
classifier and the specialisation measures; `make_task` is its factory (``task = "classify"``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

    from negoray.config import ExperimentConfig
    from negoray.tasks.classify.task import ClassifyTask

__all__ = ["make_task"]


def make_task(config: ExperimentConfig, options: Mapping[str, Any]) -> ClassifyTask:
    """The classify task (`negoray.tasks.classify.task.make_task`); imported on use, so that the sim
    can read this package's pieces without importing the config."""
    from negoray.tasks.classify.task import make_task as make
    return make(config, options)


# The options that name files, relative to the config file (`negoray.tasks.registry.resolve_paths`).
make_task.path_options = ("data", "files")  # type: ignore[attr-defined]
