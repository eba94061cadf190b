"""A tiny HTML tree (stdlib ``html.parser``) to query pages by id, tag and attribute."""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser

_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}


class Node:
    """An element: ``tag``, ``attrs``, ``children`` (nodes and text)."""

    def __init__(self, tag: str, attrs: dict[str, str | None]) -> None:
        self.tag = tag
        self.attrs = attrs
        self.children: list[Node | str] = []

    def iter(self) -> Iterator[Node]:
        """This node and every element under it, in document order."""
        yield self
        for c in self.children:
            if isinstance(c, Node):
                yield from c.iter()

    def text(self) -> str:
        """All text under the node, whitespace collapsed."""
        parts: list[str] = []

        def walk(n: Node) -> None:
            for c in n.children:
                if isinstance(c, Node):
                    walk(c)
                else:
                    parts.append(c)

        walk(self)
        return " ".join(" ".join(parts).split())

    def by_id(self, id_: str) -> Node | None:
        """The element with this id, or None."""
        return next((n for n in self.iter() if n.attrs.get("id") == id_), None)

    def all(self, tag: str | None = None, **attrs: str | None) -> list[Node]:
        """Elements with this tag (any when None) having the given attributes.

        An attribute given as ``None`` must only be present; ``data_x`` means ``data-x``.
        """
        want = {k.replace("_", "-"): v for k, v in attrs.items()}
        out = []
        for n in self.iter():
            if tag is not None and n.tag != tag:
                continue
            if all(k in n.attrs and (v is None or n.attrs[k] == v) for k, v in want.items()):
                out.append(n)
        return out

    def get(self, name: str) -> str | None:
        """An attribute's value."""
        return self.attrs.get(name)


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs))
        self.stack[-1].children.append(node)
        if tag not in _VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                break

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(text: str) -> Node:
    """The document tree of an HTML page."""
    b = _Builder()
    b.feed(text)
    b.close()
    return b.root
