# -*- coding: utf-8 -*-
# Copyright (c) fmapi.coding_agents contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Line-preserving editing of ``~/.databrickscfg``. Private to the collection.

The file is read the way the Databricks CLI and SDKs read it (go-ini with
``SpaceBeforeInlineComment``): ``[section]`` headers, ``key = value`` or ``key: value`` lines,
comments starting with ``#`` or ``;``, an inline comment only after a space, keys before the first
header in ``[DEFAULT]``, several sections of one name merged, the last of several equal keys winning.

Edits touch only the lines they must: a changed value replaces just the value on its line; an
added key copies the layout of the section's other keys; a new section is written the way the
CLI writes one (``=`` aligned). Every other line comes back byte for byte, with its own line ending.
"""

from __future__ import annotations

import re
import typing as t

DEFAULT_SECTION = "DEFAULT"
SETTINGS_SECTION = "__settings__"
UTF8_BOM = "\ufeff"
REDACTED = "********"
# What the Databricks CLI puts above [DEFAULT] in a file it creates.
CLI_DEFAULT_COMMENT = ("; The profile defined in the DEFAULT section is to be used as a fallback when no "
                       "profile is explicitly specified.")

_SENSITIVE_KEY = re.compile(r"token|secret|password|passwd|credential|metadata_service_url", re.IGNORECASE)


class IniError(Exception):
    """A line the Databricks CLI cannot read either."""

    def __init__(self, line_number: int, message: str):
        super().__init__(message)
        self.line_number = line_number
        self.message = message


class Line:  # pylint: disable=too-few-public-methods
    """One physical line: its text without ending, its ending, and what it is."""

    BLANK = "blank"
    COMMENT = "comment"
    SECTION = "section"
    KEY = "key"

    def __init__(self, text: str, ending: str):
        self.text = text
        self.ending = ending
        self.kind = Line.BLANK
        self.name = ""  # section name or key
        # For key lines: [value_start, value_end) in text.
        self.value_start = 0
        self.value_end = 0

    @property
    def value(self) -> str:
        return self.text[self.value_start:self.value_end]

    @property
    def delimiter_column(self) -> int:
        """Position of the ``=``/``:`` of a key line."""
        return _delimiter_index(self.text)


def _delimiter_index(text: str) -> int:
    positions = [index for index in (text.find("="), text.find(":")) if index >= 0]
    return min(positions) if positions else -1


def _parse_line(text: str, ending: str, number: int) -> Line:
    line = Line(text, ending)
    stripped = text.strip()
    if not stripped:
        return line
    if stripped[0] in "#;":
        line.kind = Line.COMMENT
        return line
    if stripped[0] == "[":
        # As go-ini: the name runs to the last ']' and is not trimmed; what follows is ignored.
        close = stripped.rfind("]")
        if close < 0:
            raise IniError(number, "line %d opens a [section] header but does not close it: %s" % (number, stripped))
        if close == 1:
            raise IniError(number, "line %d is a section header without a name: %s" % (number, stripped))
        line.kind = Line.SECTION
        line.name = stripped[1:close]
        return line
    delimiter = _delimiter_index(text)
    if delimiter < 0:
        raise IniError(number, "line %d is neither 'key = value', a [section] header nor a comment" % number)
    key = text[:delimiter].strip()
    if not key:
        raise IniError(number, "line %d has a value but no key" % number)
    line.kind = Line.KEY
    line.name = key
    start = delimiter + 1
    while start < len(text) and text[start].isspace():
        start += 1
    end = len(text)
    # As go-ini with SpaceBeforeInlineComment: " #" (else " ;") inside the value starts a comment.
    for marker in (" #", " ;"):
        found = text.find(marker, start)
        if found >= 0:
            end = found
            break
    while end > start and text[end - 1].isspace():
        end -= 1
    line.value_start, line.value_end = start, end
    return line


def unquote(value: str) -> str:
    """A value as the CLI reads it: without one pair of surrounding quotes or backticks."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'`":
        return value[1:-1]
    return value


def is_sensitive_key(key: str) -> bool:
    """Whether a key of the file holds a credential (its value is never shown)."""
    return bool(_SENSITIVE_KEY.search(key))


class IniDocument:
    """A ``.databrickscfg`` as lines, editable without disturbing the rest."""

    def __init__(self, text: str = ""):
        self.bom = text.startswith(UTF8_BOM)
        if self.bom:
            text = text[len(UTF8_BOM):]
        self.lines: t.List[Line] = []
        for number, raw in enumerate(text.splitlines(True), start=1):
            body = raw.rstrip("\r\n")
            self.lines.append(_parse_line(body, raw[len(body):], number))
        endings = [line.ending for line in self.lines if line.ending]
        self.newline = "\r\n" if endings and endings[0] == "\r\n" else "\n"

    # ------------------------------------------------------------------ reading
    def render(self, redact: bool = False) -> str:
        """The file's text; with ``redact``, credential values replaced by a mask."""
        parts = [UTF8_BOM] if self.bom else []
        for line in self.lines:
            text = line.text
            if redact and line.kind == Line.KEY and is_sensitive_key(line.name) and line.value:
                text = text[:line.value_start] + REDACTED + text[line.value_end:]
            parts.append(text + line.ending)
        return "".join(parts)

    def section_names(self) -> t.List[str]:
        """Section names in file order, each once."""
        names: t.List[str] = []
        for line in self.lines:
            if line.kind == Line.SECTION and line.name not in names:
                names.append(line.name)
        return names

    def _blocks(self, name: str) -> t.List[t.Tuple[int, int]]:
        """``(header index, end index)`` of every section called ``name``; end excludes the next header."""
        blocks = []
        for index, line in enumerate(self.lines):
            if line.kind == Line.SECTION and line.name == name:
                end = index + 1
                while end < len(self.lines) and self.lines[end].kind != Line.SECTION:
                    end += 1
                blocks.append((index, end))
        return blocks

    def _leading_key_indexes(self) -> t.List[int]:
        """Key lines before the first header: go-ini reads them as ``[DEFAULT]``."""
        indexes = []
        for index, line in enumerate(self.lines):
            if line.kind == Line.SECTION:
                break
            if line.kind == Line.KEY:
                indexes.append(index)
        return indexes

    def has_section(self, name: str) -> bool:
        return bool(self._blocks(name)) or (name == DEFAULT_SECTION and bool(self._leading_key_indexes()))

    def _key_indexes(self, section: str, key: t.Optional[str] = None) -> t.List[int]:
        indexes = [index for index in self._leading_key_indexes()
                   if key is None or self.lines[index].name == key] if section == DEFAULT_SECTION else []
        for start, end in self._blocks(section):
            for index in range(start + 1, end):
                line = self.lines[index]
                if line.kind == Line.KEY and (key is None or line.name == key):
                    indexes.append(index)
        return indexes

    def get(self, section: str, key: str) -> t.Optional[str]:
        """The value the CLI sees (the last one), unquoted, or None."""
        indexes = self._key_indexes(section, key)
        return unquote(self.lines[indexes[-1]].value) if indexes else None

    def keys(self, section: str) -> t.List[str]:
        """Key names of a section in file order, each once."""
        names: t.List[str] = []
        for index in self._key_indexes(section):
            if self.lines[index].name not in names:
                names.append(self.lines[index].name)
        return names

    def values(self, section: str) -> t.Dict[str, str]:
        """The section's keys and values as the CLI reads them (the last of equal keys wins), in file order."""
        return dict((key, t.cast(str, self.get(section, key))) for key in self.keys(section))

    def sensitive_values(self) -> t.List[str]:
        """Every credential value in the file, to keep out of any output."""
        values = []
        for line in self.lines:
            if line.kind == Line.KEY and is_sensitive_key(line.name) and line.value:
                values.append(line.value)
                if unquote(line.value) != line.value:
                    values.append(unquote(line.value))
        return values

    # ------------------------------------------------------------------ editing
    def set(self, section: str, key: str, value: str) -> None:
        """Give ``key`` the value ``value`` in an existing section (all copies of the key)."""
        indexes = self._key_indexes(section, key)
        for index in indexes:
            line = self.lines[index]
            line.text = line.text[:line.value_start] + value + line.text[line.value_end:]
            line.value_end = line.value_start + len(value)
        if indexes:
            return
        blocks = self._blocks(section)
        if not blocks:
            raise KeyError(section)
        header, end = blocks[-1]
        key_lines = self._key_indexes(section)
        new_line = _parse_line(self._layout_for(section, key, value), self.newline, 0)
        last_in_block = [index for index in key_lines if header < index < end]
        position = (last_in_block[-1] if last_in_block else header) + 1
        if not self.lines[position - 1].ending:
            self.lines[position - 1].ending = self.newline
        self.lines.insert(position, new_line)

    def _layout_for(self, section: str, key: str, value: str) -> str:
        """A new key line laid out like the section's other keys."""
        existing = [self.lines[index] for index in self._key_indexes(section)]
        if not existing:
            return "%s = %s" % (key, value)
        columns = set(line.delimiter_column for line in existing)
        template = existing[-1]
        indent = template.text[:len(template.text) - len(template.text.lstrip())]
        delimiter_at = template.delimiter_column
        after = template.text[delimiter_at + 1:template.value_start]
        before = template.text[len(indent) + len(template.name):delimiter_at]
        aligned = len(columns) == 1 and any(
            line.delimiter_column > len(line.text) - len(line.text.lstrip()) + len(line.name) + 1 for line in existing)
        if aligned and len(indent) + len(key) < delimiter_at:
            before = " " * (delimiter_at - len(indent) - len(key))
        elif aligned:
            before = " "
        return "%s%s%s%s%s%s" % (indent, key, before, template.text[delimiter_at], after, value)

    def remove_key(self, section: str, key: str) -> bool:
        """Delete every ``key`` line of the section; True when one was there."""
        indexes = self._key_indexes(section, key)
        for index in reversed(indexes):
            del self.lines[index]
        return bool(indexes)

    def add_section(self, section: str, items: t.List[t.Tuple[str, str]]) -> None:
        """Append a section written the way the Databricks CLI writes one (``=`` aligned)."""
        if not any(line.kind != Line.BLANK for line in self.lines):
            # A new (or blank) file: start it the way the CLI does.
            self.lines = [_parse_line(CLI_DEFAULT_COMMENT, self.newline, 0),
                          _parse_line("[%s]" % DEFAULT_SECTION, self.newline, 0)]
        if self.lines:
            if not self.lines[-1].ending:
                self.lines[-1].ending = self.newline
            if self.lines[-1].kind != Line.BLANK:
                self.lines.append(_parse_line("", self.newline, 0))
        self.lines.append(_parse_line("[%s]" % section, self.newline, 0))
        width = max(len(key) for key, _value in items) if items else 0
        for key, value in items:
            self.lines.append(_parse_line("%s = %s" % (key.ljust(width), value), self.newline, 0))

    def remove_section(self, section: str) -> bool:
        """Delete every section called ``section`` with the comment lines directly above its header.

        Blank lines that separated it from the next section go with it; comment lines directly above
        the next header belong to that section and stay.
        """
        blocks = self._blocks(section)
        for header, end in reversed(blocks):
            start = header
            while start > 0 and self.lines[start - 1].kind == Line.COMMENT:
                start -= 1
            if end < len(self.lines):
                while end - 1 > header and self.lines[end - 1].kind == Line.COMMENT:
                    end -= 1
            else:
                # The last section: do not leave blank lines at the end of the file.
                while start > 0 and self.lines[start - 1].kind == Line.BLANK:
                    start -= 1
            del self.lines[start:end]
        if self.lines and not self.lines[-1].ending:
            self.lines[-1].ending = self.newline
        return bool(blocks)
