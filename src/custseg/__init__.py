"""custseg: customer segmentation for e-commerce.

Collect customers, orders, events and survey answers into canonical tables;
analyze, segment, act and measure on top of them. All table work is Ibis, on
an embedded DuckDB file by default.
"""

from __future__ import annotations

from custseg.config import Config, load_config, resolve
from custseg.exceptions import (
    ConfigError,
    ConvergenceError,
    CustsegError,
    DataError,
    LoadError,
    MappingError,
    NotFittedError,
    PrivacyError,
    SchemaError,
    SourceReadError,
    UsageError,
    WorkspaceError,
)
from custseg.ingest import LoadReport, SourceReport, ingest_file, ingest_sources, validate_sources
from custseg.schema import TABLES
from custseg.workspace import Workspace, init_workspace, open_workspace

__version__ = "0.1.0"

__all__ = [
    "Config",
    "ConfigError",
    "ConvergenceError",
    "CustsegError",
    "DataError",
    "LoadError",
    "LoadReport",
    "MappingError",
    "NotFittedError",
    "PrivacyError",
    "SchemaError",
    "SourceReadError",
    "SourceReport",
    "TABLES",
    "UsageError",
    "Workspace",
    "WorkspaceError",
    "ingest_file",
    "ingest_sources",
    "init_workspace",
    "load_config",
    "open_workspace",
    "resolve",
    "validate_sources",
]
