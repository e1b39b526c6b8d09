"""YAML for files from anyone: no tags that run code, no key given twice, bounded nesting and
bounded alias expansion (a "billion laughs" file is refused before anything walks it)."""

from __future__ import annotations

from typing import Any

import yaml

from ..errors import shown

MAX_DEPTH = 64            # nesting of a scenario file: a handful of levels is all it needs
MAX_VALUES = 200_000      # values once aliases (*name) are expanded


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (YAML would keep the last),
    nesting deeper than MAX_DEPTH, and aliases that expand to more than MAX_VALUES values."""

    depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise yaml.composer.ComposerError(
                    None, None, f"nested more than {MAX_DEPTH} levels deep",
                    self.peek_event().start_mark)  # type: ignore[no-untyped-call]
            return super().compose_node(parent, index)  # type: ignore[no-untyped-call]
        finally:
            self.depth -= 1

    def get_single_data(self) -> Any:
        node = self.get_single_node()  # type: ignore[no-untyped-call]
        if node is None:
            return None
        if _expanded_size(node, {}) > MAX_VALUES:
            raise yaml.composer.ComposerError(
                None, None, f"its aliases (*name) expand to more than {MAX_VALUES:,} values",
                node.start_mark)
        return self.construct_document(node)  # type: ignore[no-untyped-call]


def _expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    """Values under ``node`` with every alias expanded (each shared node counted once per use)."""
    if id(node) not in memo:
        memo[id(node)] = 1  # a node that contains itself (a recursive alias) counts once
        if isinstance(node, yaml.SequenceNode):
            children = node.value
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        else:
            children = []
        memo[id(node)] = 1 + sum(_expanded_size(child, memo) for child in children)
    return memo[id(node)]


def _mapping_without_duplicates(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)  # type: ignore[no-untyped-call]
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            raise yaml.constructor.ConstructorError(None, None, "a key must be a name, "
                                                    f"got {shown(key)}", key_node.start_mark)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None,
                                                    f"the key {shown(key)} is given twice",
                                                    key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


def safe_load(text: str) -> Any:
    """The document in ``text``; ``yaml.YAMLError`` (with a mark) for anything refused."""
    return yaml.load(text, Loader=_Loader)
