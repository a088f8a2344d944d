"""Reading the text files a user hands the graph (parameter files, calibration YAML, model
metadata, labels) so that every way one can be wrong ends in one line naming the file and the
problem, never in a traceback (UnicodeDecodeError, a multi-line YAML parser message)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .params import ConfigError


def read_text(path: str | Path, key: str, what: str) -> str:
    """The file's UTF-8 text; ConfigError under `key` when it is missing, unreadable or binary.
    `what` names the expected content ("a ROS 2 parameter file in YAML")."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(key, f"file not found: {path}") from None
    except IsADirectoryError:
        raise ConfigError(key, f"{path} is a directory (expected {what})") from None
    except OSError as exc:
        raise ConfigError(key, f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(key, f"{path} is not a text file (expected {what})") from None


def yaml_problem(exc: Exception) -> str:
    """A YAML parser error on one line: `line L, column C: <problem>`."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return f"{where}{problem}"


def load_yaml(path: str | Path, key: str, what: str) -> Any:
    """The parsed YAML document; ConfigError under `key`, on one line, for any problem."""
    import yaml

    text = read_text(path, key, what)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(key, f"{path} is not valid YAML ({yaml_problem(exc)})") from None
