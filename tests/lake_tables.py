"""Delta tables written by `deltalake` and Iceberg tables by pyiceberg's SQL catalog, for tests.

Each table is written in several commits, the last one a delete: its folder then holds
Parquet files with rows the table no longer has, so only a reader that follows the
table's log (not a plain read of the folder's Parquet files) gives the right rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa
    from pyiceberg.catalog.sql import SqlCatalog
    from pyiceberg.table import Table as IcebergTable


def delta_options(endpoint: str, environ: Mapping[str, str]) -> dict[str, str]:
    """deltalake's storage options for moto's S3 server (plain HTTP, no conditional PUT)."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": environ["AWS_ACCESS_KEY_ID"],
        "AWS_SECRET_ACCESS_KEY": environ["AWS_SECRET_ACCESS_KEY"],
        "AWS_REGION": environ.get("AWS_REGION", "us-east-1"),
        "AWS_ALLOW_HTTP": "true",
        "AWS_S3_ALLOW_UNSAFE_RENAME": "true",
    }


def write_delta(
    uri: str,
    table: pa.Table,
    *,
    extra: pa.Table | None = None,
    delete: str | None = None,
    partition_by: list[str] | None = None,
    storage_options: dict[str, str] | None = None,
) -> None:
    """``table`` as version 0, ``extra`` appended as version 1, then ``delete`` (a predicate)."""
    from deltalake import DeltaTable, write_deltalake

    write_deltalake(uri, table, partition_by=partition_by, storage_options=storage_options)
    if extra is not None:
        write_deltalake(uri, extra, mode="append", partition_by=partition_by, storage_options=storage_options)
    if delete is not None:
        DeltaTable(uri, storage_options=storage_options).delete(delete)


def iceberg_catalog(directory: Path, warehouse: str, **properties: str) -> SqlCatalog:
    """pyiceberg's SQL catalog in a SQLite file in ``directory``; tables go under ``warehouse``."""
    from pyiceberg.catalog.sql import SqlCatalog

    directory.mkdir(parents=True, exist_ok=True)
    return SqlCatalog(
        "noctra_test",
        uri=f"sqlite:///{directory / 'catalog.db'}",
        warehouse=warehouse,
        **properties,
    )


def s3_properties(endpoint: str, environ: Mapping[str, str]) -> dict[str, str]:
    """pyiceberg's FileIO settings for moto's S3 server."""
    return {
        "s3.endpoint": endpoint,
        "s3.access-key-id": environ["AWS_ACCESS_KEY_ID"],
        "s3.secret-access-key": environ["AWS_SECRET_ACCESS_KEY"],
        "s3.region": environ.get("AWS_REGION", "us-east-1"),
    }


def write_iceberg(
    catalog: SqlCatalog,
    name: str,
    table: pa.Table,
    *,
    extra: pa.Table | None = None,
    delete: str | None = None,
) -> IcebergTable:
    """Table ``name`` (namespace.table): ``table`` appended, then ``extra``, then ``delete``."""
    namespace = name.split(".", 1)[0]
    if (namespace,) not in catalog.list_namespaces():
        catalog.create_namespace(namespace)
    iceberg = catalog.create_table(name, schema=table.schema)
    iceberg.append(table)
    if extra is not None:
        iceberg.append(extra)
    if delete is not None:
        iceberg.delete(delete)
    return iceberg
