"""A grid TOML file read with tomllib, plus the line of each field for error messages.

tomllib returns plain values without positions, so the line of a field is
found again in the text: the first ``key =`` line inside the field's table,
or the first line after it that contains a given value.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from w2s_bench.errors import UserError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on Python 3.10
    import tomli as tomllib

HEADER = re.compile(r"^\s*\[\[?\s*(?P<name>[^\]]+?)\s*\]\]?\s*(#.*)?$")


class GridSpecError(UserError):
    """A grid file or flag that is missing, malformed or names something unknown."""


@dataclass(frozen=True)
class TomlSource:
    """The text and parsed content of a grid file (or of command-line flags)."""

    name: str
    text: str
    data: dict[str, Any]

    @classmethod
    def read(cls, path: Path) -> "TomlSource":
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise GridSpecError(f"grid file {path} not found") from None
        except (OSError, UnicodeDecodeError) as error:
            raise GridSpecError(f"grid file {path} cannot be read: {error}") from None

        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise GridSpecError(f"{path}: invalid TOML: {error}") from None
        return cls(str(path), text, data)

    @classmethod
    def from_flags(cls) -> "TomlSource":
        return cls("command line", "", {})

    def line_of(self, table: tuple[str, ...], key: str | None, value: Any = None) -> int | None:
        """Return the 1-based line of ``key`` in ``table`` (or of ``value`` after it), or None."""
        lines = self.text.splitlines()
        current: tuple[str, ...] = ()
        key_pattern = re.compile(rf"^\s*(\"{re.escape(key)}\"|{re.escape(key)})\s*=") if key else None
        table_line = None

        for number, line in enumerate(lines, start=1):
            header = HEADER.match(line)
            if header:
                current = split_table_name(header.group("name"))
                if current == table and key is None:
                    table_line = number
                continue
            if current != table or key_pattern is None or not key_pattern.match(line):
                continue
            if value is None:
                return number
            return self._line_with_value(lines, number, value) or number
        return table_line or self._inline_key_line(lines, key)

    @staticmethod
    def _inline_key_line(lines: list[str], key: str | None) -> int | None:
        """Return the first line with ``key =`` anywhere, for fields inside inline tables."""
        if key is None:
            return None
        pattern = re.compile(rf"(^|[{{,\s]){re.escape(key)}\s*=")
        for number, line in enumerate(lines, start=1):
            if pattern.search(line):
                return number
        return None

    @staticmethod
    def _line_with_value(lines: list[str], start: int, value: Any) -> int | None:
        needle = f'"{value}"' if isinstance(value, str) else str(value)
        for number in range(start, len(lines) + 1):
            if needle in lines[number - 1]:
                return number
        return None

    def error(self, message: str, table: tuple[str, ...] = (), key: str | None = None, value: Any = None) -> GridSpecError:
        """Build an error that names the file, the line and the field."""
        field = ".".join((*table, key) if key else table) or "(top level)"
        if not self.text:
            return GridSpecError(f"{self.name}: {field}: {message}")
        line = self.line_of(table, key, value)
        where = f"{self.name}:{line}" if line else self.name
        return GridSpecError(f"{where}: {field}: {message}")


def split_table_name(name: str) -> tuple[str, ...]:
    """Split a TOML table name such as ``tasks."file:a.jsonl"`` into its keys."""
    parts = re.findall(r'"([^"]*)"|\'([^\']*)\'|([^.\s]+)', name)
    return tuple(double or single or bare for double, single, bare in parts)
