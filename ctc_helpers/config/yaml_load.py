"""Safe YAML reading with libyaml's C parser, with limits on size and alias expansion.

The C loader reads the same safe subset as ``yaml.safe_load`` about ten times faster, which
matters in report notebooks that read the programme bank, the inventory schema and the texts.

Two limits protect every reader from a hostile or broken file:

- **size**: a text longer than :data:`MAX_YAML_BYTES` (5 MB; the largest file the workbench ships,
  the instrument, is 86 kB) is refused before it is parsed;
- **alias expansion**: anchors and aliases (``&name`` ... ``*name``) are allowed, since a team may
  reuse a block of settings, but the values they would add once expanded are counted while the
  file is parsed, and more than :data:`MAX_ALIAS_VALUES` (10,000) refuse the file. A 700-byte
  "billion laughs" file (nine levels of nine aliases each) would expand to 387 million values; it
  is refused after a few hundred parser events, in milliseconds, without building anything. An
  alias inside the block it names (a self-referring structure) is refused too.

Counting rather than refusing aliases altogether keeps valid YAML valid; the count needs only one
integer per anchor. A text without an anchor (``&`` directly followed by a name) has no alias
that can expand and is loaded directly (one pass); any other text is scanned once more for
events before it is composed (about 3 ms for the 37 kB programme bank).

A key written twice in one mapping (two ``risk_factors:`` lines in a team's file) is refused with
:class:`YamlDuplicateKeyError` instead of YAML's silent "the last one wins", which would drop
what the team wrote first.

The limits raise :class:`YamlLimitError`, which carries the numbers and no text: the readers of
user files (:func:`ctc_helpers.config.files.read_yaml_file`) turn it and the duplicate key into a
Swedish or English :class:`~ctc_helpers.errors.ConfigError` naming the file and the line.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

__all__ = [
    "LOADER",
    "MAX_YAML_BYTES",
    "MAX_ALIAS_VALUES",
    "YamlDuplicateKeyError",
    "YamlLimitError",
    "load_yaml",
]

_MERGE_TAG = "tag:yaml.org,2002:merge"
# An anchor is "&" and a name: a text without it ("Sundell & Andréasson") is loaded in one pass.
_ANCHOR = re.compile(r"&[^\s,\[\]{}]")
_ANCHOR_BYTES = re.compile(_ANCHOR.pattern.encode())
MAX_YAML_BYTES = 5_000_000
MAX_ALIAS_VALUES = 10_000


class YamlLimitError(ValueError):
    """A YAML text exceeds a limit. ``kind`` is ``size``, ``aliases`` or ``recursive_alias``.

    ``amount`` is the size in bytes or the values added by aliases (up to where parsing
    stopped); ``limit`` the limit; ``line`` the 1-based line where the limit was passed (0 for
    the size).
    """

    def __init__(self, kind: str, *, amount: int, limit: int, line: int = 0) -> None:
        super().__init__(f"YAML {kind} limit {limit} exceeded ({amount}) at line {line}")
        self.kind, self.amount, self.limit, self.line = kind, amount, limit, line


class YamlDuplicateKeyError(yaml.constructor.ConstructorError):
    """A key stands twice in one mapping: ``key`` (as written), ``line`` (1-based) and
    ``first_line`` where it stood first. A ``yaml.YAMLError``, so readers that report invalid
    YAML with its line still do."""

    def __init__(self, key: str, *, line: int, first_line: int, mark: Any = None) -> None:
        super().__init__(
            None, None, f"the key {key!r} stands twice (first on line {first_line})", mark
        )
        self.key, self.line, self.first_line = key, line, first_line


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The fast safe loader, refusing a key written twice in one mapping."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        first: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:  # "<<: *defaults" may be overridden key by key
                continue
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                if key in first:
                    raise YamlDuplicateKeyError(
                        str(key), line=line, first_line=first[key], mark=key_node.start_mark
                    )
                first[key] = line
            except TypeError:  # an unhashable key: the base class says so
                break
        return super().construct_mapping(node, deep=deep)


LOADER = _Loader


def load_yaml(
    stream: Any, *, max_bytes: int = MAX_YAML_BYTES, max_alias_values: int = MAX_ALIAS_VALUES
) -> Any:
    """``yaml.safe_load`` of a string, bytes or open file, with the fast loader and the limits.

    Raises
    ------
    YamlLimitError
        The text is longer than ``max_bytes`` bytes, or its aliases would add more than
        ``max_alias_values`` values (or refer to the block they are in).
    YamlDuplicateKeyError
        A key stands twice in one mapping.
    yaml.YAMLError
        The text is not valid YAML.

    >>> load_yaml("a: &x [1, 2]\\nb: *x\\n")
    {'a': [1, 2], 'b': [1, 2]}
    >>> load_yaml("a: &x [1, 2]\\nb: [*x, *x]\\n", max_alias_values=3)
    Traceback (most recent call last):
    ...
    ctc_helpers.config.yaml_load.YamlLimitError: YAML aliases limit 3 exceeded (6) at line 2
    """
    text = stream.read() if hasattr(stream, "read") else stream
    size = len(text.encode("utf-8")) if isinstance(text, str) else len(text)
    if size > max_bytes:
        raise YamlLimitError("size", amount=size, limit=max_bytes)
    anchor = _ANCHOR if isinstance(text, str) else _ANCHOR_BYTES
    if anchor.search(text):
        check_aliases(text, limit=max_alias_values)
    return yaml.load(text, Loader=LOADER)  # noqa: S506 - LOADER is a safe loader


def check_aliases(text: str | bytes, *, limit: int = MAX_ALIAS_VALUES) -> int:
    """Count the values aliases would add to ``text`` once expanded; refuse above ``limit``.

    Walks the parser's events (no document is built): every finished node adds its expanded
    size to its parent; an anchored node's size is remembered; an alias adds the size of the
    node it names. Returns the count of added values.

    Raises
    ------
    YamlLimitError
        ``aliases`` when the count passes ``limit``; ``recursive_alias`` for an alias inside the
        node it names.
    """
    sizes: dict[str, int] = {}
    open_nodes: list[list] = [["", 0]]  # [anchor, expanded size so far] of each open collection
    added = 0
    for event in yaml.parse(text, Loader=LOADER):
        if isinstance(event, yaml.CollectionStartEvent):
            open_nodes.append([event.anchor or "", 1])
            continue
        if isinstance(event, yaml.CollectionEndEvent):
            anchor, size = open_nodes.pop()
        elif isinstance(event, yaml.AliasEvent):
            anchor, line = "", event.start_mark.line + 1
            if any(node[0] == event.anchor for node in open_nodes):
                raise YamlLimitError("recursive_alias", amount=1, limit=0, line=line)
            size = sizes.get(event.anchor, 1)
            added += size
            if added > limit:
                raise YamlLimitError("aliases", amount=added, limit=limit, line=line)
        elif isinstance(event, yaml.ScalarEvent):
            anchor, size = event.anchor or "", 1
        else:  # stream and document start/end
            continue
        if anchor:
            sizes[anchor] = size
        open_nodes[-1][1] += size
    return added
