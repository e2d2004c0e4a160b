"""One local Spark Connect server for the whole test session (issue 14).

Every Spark test connects to it as a cluster (``sc://localhost:PORT``): starting a
server costs ~15 s on these machines, so only the tests about starting one start their
own, in a subprocess. Skipped, saying what to install, without Java or pyspark.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator

import pytest

SKIP_NO_JAVA = "Spark tests need Java 17: apt-get install openjdk-17-jre-headless"
SKIP_NO_PYSPARK = "Spark tests need pyspark: pip install 'noctra[spark]' (make test installs it)"


def spark_missing() -> str | None:
    """Why Spark tests cannot run here, or None."""
    java_home = os.environ.get("JAVA_HOME")
    if not (java_home and os.path.exists(os.path.join(java_home, "bin", "java"))) and not shutil.which(
        "java"
    ):
        return SKIP_NO_JAVA
    if importlib.util.find_spec("pyspark") is None:
        return SKIP_NO_PYSPARK
    return None


@pytest.fixture(scope="session")
def spark_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The sc:// URL of the test session's local Spark Connect server."""
    reason = spark_missing()
    if reason is not None:
        pytest.skip(reason)
    from noctra.engine.spark import start_local_server, stop_local_server

    url = start_local_server("local[2]", str(tmp_path_factory.mktemp("spark")))
    yield url
    stop_local_server()
