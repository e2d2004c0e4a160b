"""Real PostgreSQL and MySQL (MariaDB) servers for tests, in a temp directory on 127.0.0.1.

Each runs as an unprivileged user when the tests run as root (neither server starts as
root), on a free port, with password authentication, and is stopped at the end. Tables
are created through DuckDB's own postgres/mysql extensions (raw DuckDB, not Noctra).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from noctra.engine.duck.extensions import extension_path

PASSWORD = "Pw-7q!zX-noctra"  # distinctive: tests assert it never shows up anywhere
USER = "noctra"
POSTGRES_BIN = Path("/usr/local/bin")  # where these machines have initdb; else found on PATH
POSTGRES_MISSING = "initdb not found: install postgresql (apt-get install postgresql) to run these tests"
MYSQL_MISSING = "mysqld not found: apt-get install mariadb-server"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _owner() -> pwd.struct_passwd | None:
    """The user servers run as: nobody when we are root (they refuse root), else ourselves."""
    return pwd.getpwnam("nobody") if os.geteuid() == 0 else None


def _run(args: list[str], owner: pwd.struct_passwd | None, **kwargs: object) -> None:
    if owner is not None:
        args = ["setpriv", f"--reuid={owner.pw_uid}", f"--regid={owner.pw_gid}", "--clear-groups", *args]
    subprocess.run(args, check=True, capture_output=True, **kwargs)  # type: ignore[call-overload]


def _private_dir(owner: pwd.struct_passwd | None, prefix: str) -> Path:
    # Not under pytest's tmp_path: its parents are private to root, which nobody cannot enter.
    root = Path(tempfile.mkdtemp(prefix=prefix))
    if owner is not None:
        os.chown(root, owner.pw_uid, owner.pw_gid)
    return root


@dataclass
class DbServer:
    """A running server: where it listens, how to reach it, and how to put tables in it."""

    kind: str  # "postgres" or "mysql"
    port: int
    root: Path
    stop_args: list[str] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None

    @property
    def scheme(self) -> str:
        return "postgresql" if self.kind == "postgres" else "mysql"

    def url(self, database: str, *, password: str | None = None) -> str:
        """postgresql://noctra@127.0.0.1:PORT/db (with ``:password`` when given)."""
        secret = f":{password}" if password is not None else ""
        return f"{self.scheme}://{USER}{secret}@127.0.0.1:{self.port}/{database}"

    def execute(self, database: str, *statements: str) -> None:
        """Run statements in a database of the server, through raw DuckDB."""
        ext = "postgres_scanner" if self.kind == "postgres" else "mysql_scanner"
        key = "dbname" if self.kind == "postgres" else "database"
        with duckdb.connect(config={"autoload_known_extensions": "false"}) as con:
            con.execute(f"LOAD '{extension_path(ext)}'")
            con.execute(f"CREATE SECRET (TYPE {self.kind}, PASSWORD '{PASSWORD}')")
            where = f"host=127.0.0.1 port={self.port} user={USER} {key}={database}"
            con.execute(f"ATTACH '{where}' AS db (TYPE {self.kind})")
            for statement in statements:
                con.execute(f"CALL {self.kind}_execute('db', ?)", [statement])

    def stop(self) -> None:
        if self.stop_args:
            subprocess.run(self.stop_args, capture_output=True, check=False)
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.root, ignore_errors=True)


def postgres_bin() -> Path | None:
    """The directory holding initdb, pg_ctl and postgres, or None."""
    if (POSTGRES_BIN / "initdb").is_file():
        return POSTGRES_BIN
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def start_postgres(databases: list[str]) -> DbServer:
    """initdb + postgres on a free port (scram passwords); the databases created empty."""
    bin_dir = postgres_bin()
    assert bin_dir is not None
    owner = _owner()
    root = _private_dir(owner, "noctra-pg-")
    data = root / "data"
    pwfile = root / "pw"
    pwfile.write_text(PASSWORD + "\n")
    if owner is not None:
        os.chown(pwfile, owner.pw_uid, owner.pw_gid)
    _run(
        [
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            USER,
            f"--pwfile={pwfile}",
            "--auth=scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ],
        owner,
    )
    script = "".join(f"CREATE DATABASE {name};\n" for name in databases)
    _run(
        [str(bin_dir / "postgres"), "--single", "-D", str(data), "postgres"],
        owner,
        input=script.encode(),
    )
    port = free_port()
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    pg_ctl = str(bin_dir / "pg_ctl")
    _run([pg_ctl, "-D", str(data), "-l", str(root / "log"), "-w", "-o", options, "start"], owner)
    stop = [pg_ctl, "-D", str(data), "-m", "immediate", "stop"]
    if owner is not None:
        stop = ["setpriv", f"--reuid={owner.pw_uid}", f"--regid={owner.pw_gid}", "--clear-groups", *stop]
    return DbServer("postgres", port, root, stop_args=stop)


def mysqld_path() -> str | None:
    return shutil.which("mariadbd") or shutil.which("mysqld") or _sbin("mariadbd") or _sbin("mysqld")


def _sbin(name: str) -> str | None:
    path = Path("/usr/sbin") / name
    return str(path) if path.is_file() else None


def start_mysql(databases: list[str]) -> DbServer:
    """mariadb-install-db + mariadbd on a free port; user noctra with a password; databases made."""
    daemon = mysqld_path()
    install = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
    assert daemon is not None and install is not None
    owner = _owner()
    root = _private_dir(owner, "noctra-my-")
    data = root / "data"
    user = ["--user=nobody"] if owner is not None else []
    _run(
        [
            install,
            "--no-defaults",
            f"--datadir={data}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            *user,
        ],
        owner,
    )
    init = root / "init.sql"
    init.write_text(
        "".join(f"CREATE DATABASE IF NOT EXISTS {name};\n" for name in databases)
        + f"CREATE USER IF NOT EXISTS '{USER}'@'%' IDENTIFIED BY '{PASSWORD}';\n"
        + f"GRANT ALL ON *.* TO '{USER}'@'%';\n"
    )
    if owner is not None:
        os.chown(init, owner.pw_uid, owner.pw_gid)
    port = free_port()
    args = [
        daemon,
        "--no-defaults",
        f"--datadir={data}",
        f"--port={port}",
        "--bind-address=127.0.0.1",
        f"--socket={root / 'sock'}",
        f"--pid-file={root / 'pid'}",
        f"--init-file={init}",
        "--skip-log-bin",
        "--innodb-buffer-pool-size=16M",
        f"--log-error={root / 'err.log'}",
        *user,
    ]
    if owner is not None:
        args = ["setpriv", f"--reuid={owner.pw_uid}", f"--regid={owner.pw_gid}", "--clear-groups", *args]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = DbServer("mysql", port, root, process=process)
    deadline = time.monotonic() + 60
    while True:
        try:
            server.execute(databases[0], "SELECT 1")
            return server
        except duckdb.Error:
            if process.poll() is not None or time.monotonic() > deadline:
                log = (root / "err.log").read_text(errors="replace")[-2000:]
                server.stop()
                raise RuntimeError(f"mysqld did not start:\n{log}") from None
            time.sleep(0.2)
