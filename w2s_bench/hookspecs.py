"""Hook specifications: the contracts between w2s-bench and its plugins.

A plugin is a module or object with functions named like the hooks below and
marked with :data:`hookimpl`. Plugins are found through the ``w2s_bench``
entry-point group; the built-in tasks, methods and models register that way
too. Each registration hook is a collecting hook: every plugin's return value
is gathered, and a name registered twice is an error naming both plugins.
"""

from __future__ import annotations

import pluggy

from w2s_bench.specs import MethodSpec, ModelSpec, TaskSpec

PROJECT_NAME = "w2s_bench"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


# --- registration --------------------------------------------------------


@hookspec
def w2s_bench_register_tasks() -> list[TaskSpec]:
    """Return the tasks this plugin provides.

    Called once when the registry is built, before any command runs. Not
    firstresult: the lists of all plugins are merged.

    :returns: a list of :class:`~w2s_bench.specs.TaskSpec`; an empty list
        if the plugin adds no task.
    """


@hookspec
def w2s_bench_register_methods() -> list[MethodSpec]:
    """Return the weak-to-strong methods this plugin provides.

    Called once when the registry is built. Not firstresult: the lists of all
    plugins are merged.

    :returns: a list of :class:`~w2s_bench.specs.MethodSpec`.
    """


@hookspec
def w2s_bench_register_models() -> list[ModelSpec]:
    """Return the models this plugin provides.

    Called once when the registry is built. Not firstresult: the lists of all
    plugins are merged.

    :returns: a list of :class:`~w2s_bench.specs.ModelSpec`.
    """


# --- name resolution -----------------------------------------------------


@hookspec(firstresult=True)
def w2s_bench_resolve_task(name: str) -> TaskSpec | None:
    """Return a spec for a task name that no plugin registered, or None.

    Called when a lookup misses the registered names, for example with
    ``file:reviews.jsonl``. Firstresult: the first plugin that returns a spec
    wins. A plugin may raise :class:`~w2s_bench.errors.UserError` when the
    name is its own but the input behind it is invalid.

    :param name: the name the user gave.
    :returns: a :class:`~w2s_bench.specs.TaskSpec`, or None to pass.
    """


@hookspec(firstresult=True)
def w2s_bench_resolve_model(name: str) -> ModelSpec | None:
    """Return a spec for a model name that no plugin registered, or None.

    Called when a lookup misses the registered names, for example with a
    Hugging Face hub id or a local folder. Firstresult: the first plugin that
    returns a spec wins.

    :param name: the name the user gave.
    :returns: a :class:`~w2s_bench.specs.ModelSpec`, or None to pass.
    """


# --- bootstrap ladders ---------------------------------------------------


@hookspec(firstresult=True)
def w2s_bench_default_ladder(task_kind: str, weak: str, strong: str) -> list[str] | None:
    """Return the default bootstrap ladder from ``weak`` to ``strong``, or None.

    Called by the ``bootstrap`` method when the user gives no ladder. A model
    family plugin returns a ladder for pairs of its own models (the packaged
    text encoders for minilm-l1 … mpnet-base, a chess model family for its
    own sizes) and None otherwise. Firstresult: the first plugin that
    returns a ladder wins.

    :param task_kind: the ``kind`` of the task's spec ("nlp", "reward", "chess", ...).
    :param weak: the weak model's name; the ladder must start with it.
    :param strong: the strong model's name; the ladder must end with it.
    :returns: model names from weak to strong, at least two, or None to pass.
    """
