"""Settings: PerformanceConfig and the other sections of config.toml, with their origins."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from enum import Enum

REMOTE_SCHEMES = ("s3://", "s3a://", "http://", "https://", "gs://", "gcs://", "az://", "r2://")


class IOType(Enum):
    """How a statement's I/O is treated when choosing threads."""

    LOCAL = "local"
    REMOTE = "remote"
    ADAPTIVE = "adaptive"


@dataclass
class PerformanceConfig:
    """``[duckdb.performance]``: threads, memory and the statement cache."""

    base_threads: int = field(default_factory=lambda: os.cpu_count() or 1)
    remote_multiplier: float = 3.0
    memory_limit: str = "2GB"
    io_type: IOType = IOType.ADAPTIVE
    stmt_cache_capacity: int = 100

    def calculate_threads(self, path: str | None) -> int:
        """Threads for a statement reading path: local -> base; remote -> base x multiplier."""
        if self.io_type is IOType.LOCAL:
            remote = False
        elif self.io_type is IOType.REMOTE:
            remote = True
        else:
            remote = path is not None and path.lower().startswith(REMOTE_SCHEMES)
        if not remote:
            return self.base_threads
        return max(1, round(self.base_threads * self.remote_multiplier))


@dataclass
class EngineConfig:
    """``[engine]``: routing between DuckDB and SQLite, and materialization thresholds."""

    mode: str = "auto"
    materialize_min_rows: int = 10_000
    materialize_after_queries: int = 3
    materialize_always_rows: int = 1_000_000
    cache_files_under: int = 64 * 1024 * 1024


@dataclass
class SessionConfig:
    """``[session]``: whether the saved session is restored at start."""

    restore: bool = True


@dataclass
class S3Config:
    """``[s3]``: endpoint and style for S3-compatible servers (keys come from the environment)."""

    endpoint: str | None = None
    region: str | None = None
    url_style: str | None = None
    use_ssl: bool | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None


@dataclass
class Config:
    """Everything config.toml can set; ``origins`` says where each key's value came from."""

    performance: PerformanceConfig = field(default_factory=PerformanceConfig)
    tuning: dict[str, object] = field(default_factory=dict)
    engine: EngineConfig = field(default_factory=EngineConfig)
    session: SessionConfig = field(default_factory=SessionConfig)
    s3: S3Config = field(default_factory=S3Config)
    path: str | None = None
    origins: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    # How `path` was chosen: "--config", "NOCTRA_CONFIG" or "default"; and whether it was read.
    path_origin: str = "default"
    loaded: bool = False
    # Dotted key -> the environment variable its value came from.
    env_vars: dict[str, str] = field(default_factory=dict)

    def origin(self, key: str) -> str:
        """default / file / env for a dotted key such as 'duckdb.performance.base_threads'."""
        return self.origins.get(key, "default")

    def value(self, setting: Setting) -> object:
        """The value of one setting in this config."""
        return getattr(getattr(self, setting.attribute), setting.name)

    def secrets(self) -> list[str]:
        """Credential values in force (to be redacted wherever text is shown)."""
        found = [self.value(s) for s in SETTINGS if s.is_secret]
        return [str(v) for v in found if v]
