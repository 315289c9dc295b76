"""Engine and session scope: one `session_scope()` per unit of work.

The URL comes from `config.get_settings().db_url` (RAPPORT_DB_URL): a SQLite
file by default, PostgreSQL (or anything SQLAlchemy speaks) without code changes.
The schema is created and upgraded by Alembic (`db/migrations`), never by
`create_all`, so every store is on a known revision.
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from config import get_settings

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


@lru_cache(maxsize=4)
def get_engine(url: str | None = None) -> Engine:
    url = url or get_settings().db_url
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")  # ON DELETE CASCADE needs it
            cursor.execute("PRAGMA journal_mode=WAL")  # dashboard reads while a worker writes
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


@lru_cache(maxsize=4)
def _session_factory(url: str) -> sessionmaker[Session]:
    return sessionmaker(get_engine(url), expire_on_commit=False)


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """Commit on success, roll back on any error: a unit of work is all or nothing."""
    session = _session_factory(url or get_settings().db_url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def init_db(url: str | None = None, revision: str = "head") -> None:
    """Create or upgrade the schema to the newest Alembic revision (or `revision`)."""
    from alembic import command
    from alembic.config import Config

    url = url or get_settings().db_url
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    with get_engine(url).connect() as connection:
        if connection.dialect.name == "sqlite":
            # A migration that rebuilds a table (0006) must not cascade-delete its children when the old table is
            # dropped, and SQLite ignores this switch inside a transaction: so it is set before the upgrade's
            # transaction begins, for the whole upgrade (0006 checks it, then runs `PRAGMA foreign_key_check`).
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        with connection.begin():
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, revision)
    # A migration may switch SQLite's per-connection settings (foreign keys off to rebuild a table): start afresh.
    get_engine(url).dispose()
