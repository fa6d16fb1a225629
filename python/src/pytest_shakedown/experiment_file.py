"""Recognising a shakedown experiment file among YAML files, by its top-level keys."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

#: YAML file suffixes looked at.
SUFFIXES = (".yaml", ".yml")
#: The largest file shakedown accepts (1 MiB). A larger one, or one that is not UTF-8, is
#: collected only when its first ``SNIFF_BYTES`` have an experiment's top-level keys; its item
#: then fails at setup with shakedown's reason.
MAX_BYTES = 1 << 20
SNIFF_BYTES = 64 << 10
#: Keys an experiment must have: ``duration`` and at least one of ``BODY_KEYS``.
REQUIRED_KEY = "duration"
BODY_KEYS = ("method", "steady_state", "load")

_TOP_LEVEL_KEY = re.compile(r"^([A-Za-z_]+)\s*:", re.MULTILINE)

try:  # the C loader when PyYAML was built with it: much faster on large files
    _Loader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on the PyYAML build
    _Loader = yaml.SafeLoader


@dataclass(frozen=True)
class ExperimentHeader:
    """What collection needs from an experiment file: its ``title`` and ``tags`` (empty when
    the file does not parse: shakedown then reports its problems when the item runs)."""

    title: str = ""
    tags: list[str] = field(default_factory=list)


def read_header(path: Path) -> ExperimentHeader | None:
    """The header of ``path`` if it is a shakedown experiment file, else ``None``.

    A file is an experiment when its top-level mapping has ``duration`` and one of ``method``,
    ``steady_state`` or ``load``. A file that is not valid YAML is still one when those keys
    start lines at column 0 (so a broken experiment is reported, not silently skipped); other
    YAML (CI workflows, Kubernetes manifests, docker-compose files) is left alone. The same
    holds for a file over 1 MiB or not in UTF-8, which shakedown refuses with its reason.
    """
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except OSError:
        return None
    try:
        if len(raw) > MAX_BYTES:
            raise ValueError("larger than shakedown reads")
        text = raw.decode("utf-8")
    except ValueError:
        # Too large, or not UTF-8: shakedown refuses it with the reason, so an experiment is
        # collected (and fails at setup) rather than silently skipped; other files are left alone.
        keys = set(_TOP_LEVEL_KEY.findall(raw[:SNIFF_BYTES].decode("utf-8", errors="replace")))
        return ExperimentHeader() if looks_like_experiment(keys) else None
    try:
        document = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError:
        keys = set(_TOP_LEVEL_KEY.findall(text))
        return ExperimentHeader() if looks_like_experiment(keys) else None
    if not isinstance(document, dict) or not looks_like_experiment(document.keys()):
        return None
    title = document.get("title")
    tags = document.get("tags")
    return ExperimentHeader(
        title=title if isinstance(title, str) else "",
        tags=[t for t in tags if isinstance(t, str)] if isinstance(tags, list) else [],
    )


def looks_like_experiment(keys) -> bool:
    """Whether a set of top-level keys is an experiment's (see :func:`read_header`)."""
    keys = set(keys)
    return REQUIRED_KEY in keys and any(k in keys for k in BODY_KEYS)
