"""The sheets of an .xlsx workbook, from its xl/workbook.xml (the excel extension lists none)."""

from __future__ import annotations

import posixpath
import zipfile
from typing import IO

from noctra.errors import SourceError

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_RELATIONS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_RELATION_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
# Excel 97-2003 (.xls) and password-protected .xlsx files are OLE2 compound files.
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def sheet_names(name: str, data: str | IO[bytes]) -> list[str]:
    """The worksheets of a workbook in tab order (chart sheets left out); ``name`` is for errors."""
    from xml.etree import ElementTree

    try:
        with zipfile.ZipFile(data) as book:
            workbook = ElementTree.fromstring(book.read("xl/workbook.xml"))
            try:
                relations = ElementTree.fromstring(book.read("xl/_rels/workbook.xml.rels"))
            except KeyError:
                relations = None
    except zipfile.BadZipFile:
        raise not_a_workbook(name, data) from None
    except KeyError:
        raise SourceError(
            f"cannot read {name!r} as Excel: it is a zip file but not an .xlsx workbook (no xl/workbook.xml)",
            hint="check the file; for another format set OPTIONS (format = '...')",
        ) from None
    except ElementTree.ParseError as exc:
        raise SourceError(
            f"cannot read {name!r} as Excel: its xl/workbook.xml is damaged ({exc})",
            hint="open it in Excel or LibreOffice and save it again",
        ) from None
    except OSError as exc:
        raise SourceError(f"cannot read {name!r}: {exc.strerror or exc}", hint="check the file") from None
    targets: dict[str, str] = {}
    if relations is not None:
        for relation in relations.iter(f"{_RELATIONS}Relationship"):
            folder = posixpath.dirname(relation.get("Target", ""))
            targets[relation.get("Id", "")] = posixpath.basename(folder)
    names = []
    for sheet in workbook.iter(f"{_MAIN}sheet"):
        # A chart sheet or dialog sheet has no cells: read_xlsx does not see it.
        if targets.get(sheet.get(_RELATION_ID, ""), "worksheets") != "worksheets":
            continue
        names.append(sheet.get("name", ""))
    return [name for name in names if name]


def not_a_workbook(name: str, data: str | IO[bytes]) -> SourceError:
    """Why a file is not an .xlsx workbook, from its first bytes."""
    try:
        if isinstance(data, str):
            with open(data, "rb") as handle:
                head = handle.read(8)
        else:
            data.seek(0)
            head = data.read(8)
    except OSError:
        head = b""
    if head == _OLE2:
        return SourceError(
            f"cannot read {name!r}: it is an Excel 97-2003 (.xls) or a password-protected workbook",
            hint="open it in Excel or LibreOffice and save it as .xlsx without a password",
        )
    return SourceError(
        f"cannot read {name!r} as Excel: it is not an .xlsx workbook (not a zip file)",
        hint="check the file; for another format set OPTIONS (format = 'csv'|'parquet'|'json'|...)",
    )
