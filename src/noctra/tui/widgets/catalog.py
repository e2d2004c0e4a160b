"""CatalogTree: sources → tables → columns with types, read level by level from Session.catalog()."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from noctra.errors import NoctraError
from noctra.output.render import format_size
from noctra.records import record

if TYPE_CHECKING:
    from noctra.session import Session


@record(frozen=True)
class Entry:
    """What a node stands for: the name it inserts, and how to list its children."""

    insert: str
    level: str  # source, table, column, own
    alias: str = ""
    table: str | None = None


class CatalogTree(Tree[Entry]):
    """The session's sources; Enter opens a node (inserts a column's name), i inserts the name."""

    DEFAULT_CSS = """
    CatalogTree { width: 32; border-right: solid $panel; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open_or_insert", "Open", show=False),
        Binding("space", "toggle_node", "Open", show=False),
        # A letter: Ctrl+Enter does not reach the app in tmux and many terminals.
        Binding("i", "insert_name", "Insert name"),
    ]

    class NameChosen(Message):
        """i on a node (Enter on a column): its qualified name goes into the editor."""

        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

    def __init__(self, session: Session, *, id: str | None = None) -> None:
        super().__init__("Sources", id=id)
        self.session = session
        self.show_root = False
        self.auto_expand = False
        self.guide_depth = 2

    def on_mount(self) -> None:
        self.reload()

    def on_focus(self) -> None:
        """Focused (F4, Tab, a click): the cursor is on a node, so Enter opens one at once."""
        self._cursor_on_a_node()

    def _cursor_on_a_node(self) -> None:
        # A fresh tree has no cursor node (line -1): Enter would do nothing, and Space would
        # open the last node (Python's index -1). The first node takes the cursor.
        if self.cursor_line < 0 and self.root.children:
            self.cursor_line = 0

    def reload(self) -> None:
        """Read the sources again (after USE, DETACH or DDL); tables and columns load when opened."""
        self.clear()
        catalog = self.session.catalog(wait=False)  # the UI thread never waits for a query
        try:
            sources = catalog.sources()
            own = catalog.own_tables()
        except NoctraError as exc:
            self.root.add_leaf(Text(f"error: {exc.message}", style="red"))
            return
        for entry in sources:
            label = Text(entry.alias, style="bold")
            label.append(f" {entry.kind}", style="dim")
            size = format_size(entry.size)
            if size:
                label.append(f" {size}", style="dim")
            if entry.status != "ok":
                label.append(f" {entry.status}", style="red")
            if entry.is_current:
                label.append(" ●", style="green")
            node = self.root.add(label, Entry(entry.alias, "source", entry.alias), allow_expand=True)
            node.add_leaf("…")
        for table in own:
            node = self.root.add(Text(table.name, style="bold"), Entry(table.name, "own", table=table.name))
            node.add_leaf("…")
        self.root.expand()
        if self.has_focus:
            self._cursor_on_a_node()

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[Entry]) -> None:
        node = event.node
        entry = node.data
        if entry is None or entry.level == "column":
            return
        node.remove_children()
        catalog = self.session.catalog(wait=False)  # the UI thread never waits for a query
        try:
            if entry.level == "source":
                source = next((s for s in catalog.sources() if s.alias == entry.alias), None)
                # A workbook opens like a database: its sheets, each with its columns.
                if source is not None and (source.is_database or source.kind == "Excel"):
                    for table in catalog.tables(entry.alias):
                        name = table.name
                        label = Text(name)
                        label.append(f" {table.type}", style="dim")
                        child = node.add(label, Entry(f"{entry.alias}.{name}", "table", entry.alias, name))
                        child.add_leaf("…")
                    return
                columns = catalog.columns(entry.alias)
            elif entry.level == "own":
                columns = catalog.own_columns(entry.insert)
            else:
                columns = catalog.columns(entry.alias, entry.table)
        except NoctraError as exc:
            node.add_leaf(Text(f"error: {exc.message}", style="red"))
            return
        # A column inserts as table.column: a file source's table is its alias.
        qualifier = entry.table if entry.table is not None else entry.alias
        for column in columns:
            label = Text(column.name)
            label.append(f" {column.type.lower()}", style="dim")
            node.add_leaf(label, Entry(f"{qualifier}.{column.name}", "column"))

    def action_open_or_insert(self) -> None:
        """Enter: a node with children opens (or closes), as in any tree; a column inserts its name."""
        self._cursor_on_a_node()
        node: TreeNode[Entry] | None = self.cursor_node
        if node is None:
            return
        if node.allow_expand:
            node.toggle()
        else:
            self.action_insert_name()

    def action_toggle_node(self) -> None:
        """Space: opens or closes the cursor's node (the first one when none has the cursor yet)."""
        self._cursor_on_a_node()
        super().action_toggle_node()

    def action_insert_name(self) -> None:
        node: TreeNode[Entry] | None = self.cursor_node
        if node is not None and node.data is not None:
            self.post_message(self.NameChosen(_identifier(node.data.insert)))


def _identifier(name: str) -> str:
    """A name as it can be typed in SQL: quoted when it is not a plain identifier."""
    from noctra.quoting import quote_ident

    parts = name.split(".")
    return ".".join(p if p.isidentifier() and p.isascii() else quote_ident(p) for p in parts)
