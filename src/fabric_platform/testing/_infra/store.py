"""SQLite persistence for the emulator: JSON documents per kind, plus the event log.

Documents are plain dicts with an ``id``; each kind gets its own table, created on first use,
with the document as JSON and the organization id pulled out as a column (most lookups are
per organization). Rows keep insertion order through SQLite's rowid, which is what list
endpoints return.

Everything normally runs on the server's event loop, but LocalFabric's controls read the
store from the test's thread, so one lock serialises access (cheap: SQLite calls are short).
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Set, Union

Doc = Dict[str, Any]
Where = Union[Mapping[str, Any], Callable[[Doc], bool], None]

_KIND_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class Store:
    """Document store on SQLite. ``path=None`` keeps everything in memory."""

    def __init__(self, path: Optional[str] = None) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(
            path or ":memory:",
            check_same_thread=False,
            # Autocommit: every statement is durable on its own; `transaction()` groups writes.
            isolation_level=None,
        )
        if path:
            # WAL lets readers and the writer overlap and survives a crash of the process.
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
        self._tables: Set[str] = set()
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS events ("
            " id INTEGER PRIMARY KEY AUTOINCREMENT,"
            " org_id TEXT, run_id TEXT, job_id TEXT, kind TEXT NOT NULL,"
            " internal INTEGER NOT NULL DEFAULT 0, doc TEXT NOT NULL)"
        )
        self._conn.execute("CREATE INDEX IF NOT EXISTS events_run ON events(run_id, id)")
        self._conn.execute("CREATE INDEX IF NOT EXISTS events_job ON events(job_id, id)")
        self._conn.execute("CREATE INDEX IF NOT EXISTS events_org ON events(org_id, id)")
        self._conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        for (name,) in self._conn.execute("SELECT name FROM sqlite_master WHERE type='table'"):
            if name.startswith("doc_"):
                self._tables.add(name[4:])

    # ----------------------------------------------------------------- lifecycle
    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def transaction(self) -> _Transaction:
        """``with store.transaction():`` groups several writes into one atomic commit."""
        return _Transaction(self)

    # ----------------------------------------------------------------- documents
    def _table(self, kind: str) -> str:
        if kind not in self._tables:
            if not _KIND_NAME.match(kind):
                raise ValueError(f"bad document kind {kind!r}")
            self._conn.execute(
                f"CREATE TABLE IF NOT EXISTS doc_{kind} ("
                " rid INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,"
                " org_id TEXT, doc TEXT NOT NULL)"
            )
            self._conn.execute(f"CREATE INDEX IF NOT EXISTS doc_{kind}_org ON doc_{kind}(org_id, rid)")
            self._tables.add(kind)
        return f"doc_{kind}"

    def insert(self, kind: str, doc: Doc) -> Doc:
        """Add a new document (its ``id`` must be unique in the kind); returns it."""
        with self._lock:
            table = self._table(kind)
            self._conn.execute(
                f"INSERT INTO {table} (id, org_id, doc) VALUES (?, ?, ?)",
                (str(doc["id"]), doc.get("organization_id"), _dumps(doc)),
            )
        return doc

    def put(self, kind: str, doc: Doc) -> Doc:
        """Insert or replace a document, keeping its original position when it exists."""
        with self._lock:
            table = self._table(kind)
            cur = self._conn.execute(
                f"UPDATE {table} SET org_id = ?, doc = ? WHERE id = ?",
                (doc.get("organization_id"), _dumps(doc), str(doc["id"])),
            )
            if cur.rowcount == 0:
                self._conn.execute(
                    f"INSERT INTO {table} (id, org_id, doc) VALUES (?, ?, ?)",
                    (str(doc["id"]), doc.get("organization_id"), _dumps(doc)),
                )
        return doc

    def get(self, kind: str, id: Any) -> Optional[Doc]:
        with self._lock:
            if kind not in self._tables:
                return None
            row = self._conn.execute(f"SELECT doc FROM doc_{kind} WHERE id = ?", (str(id),)).fetchone()
        return json.loads(row[0]) if row else None

    def update(self, kind: str, id: Any, **fields: Any) -> Optional[Doc]:
        """Set some fields of a stored document; returns the new document (None when absent)."""
        with self._lock:
            doc = self.get(kind, id)
            if doc is None:
                return None
            doc.update(fields)
            self.put(kind, doc)
        return doc

    def delete(self, kind: str, id: Any) -> bool:
        with self._lock:
            if kind not in self._tables:
                return False
            cur = self._conn.execute(f"DELETE FROM doc_{kind} WHERE id = ?", (str(id),))
        return cur.rowcount > 0

    def find(self, kind: str, *, org_id: Optional[str] = None, where: Where = None) -> List[Doc]:
        """Documents of a kind in insertion order.

        ``where`` is either a mapping of field → value (equality on top-level fields, done in
        SQL) or a predicate applied to each document.
        """
        with self._lock:
            if kind not in self._tables:
                return []
            sql = f"SELECT doc FROM doc_{kind}"
            clauses: List[str] = []
            args: List[Any] = []
            if org_id is not None:
                clauses.append("org_id = ?")
                args.append(org_id)
            if isinstance(where, Mapping):
                for field, value in where.items():
                    if not _FIELD_NAME.match(field):
                        raise ValueError(f"bad field name {field!r}")
                    if value is None:
                        clauses.append(f"json_extract(doc, '$.{field}') IS NULL")
                    else:
                        clauses.append(f"json_extract(doc, '$.{field}') = ?")
                        args.append(_sql_value(value))
            if clauses:
                sql += " WHERE " + " AND ".join(clauses)
            sql += " ORDER BY rid"
            rows = self._conn.execute(sql, args).fetchall()
        docs = [json.loads(r[0]) for r in rows]
        if callable(where):
            docs = [d for d in docs if where(d)]
        return docs

    def find_one(self, kind: str, *, org_id: Optional[str] = None, where: Where = None) -> Optional[Doc]:
        docs = self.find(kind, org_id=org_id, where=where)
        return docs[0] if docs else None

    def count(self, kind: str, *, org_id: Optional[str] = None) -> int:
        with self._lock:
            if kind not in self._tables:
                return 0
            if org_id is None:
                return int(self._conn.execute(f"SELECT COUNT(*) FROM doc_{kind}").fetchone()[0])
            return int(
                self._conn.execute(f"SELECT COUNT(*) FROM doc_{kind} WHERE org_id = ?", (org_id,)).fetchone()[
                    0
                ]
            )

    # ----------------------------------------------------------------- meta (emulator settings)
    def get_meta(self, key: str) -> Optional[str]:
        with self._lock:
            row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # ----------------------------------------------------------------- events
    def append_event(
        self,
        doc: Doc,
        *,
        org_id: Optional[str],
        run_id: Optional[str],
        job_id: Optional[str],
        internal: bool,
    ) -> Doc:
        """Store an event; its ``id`` is assigned here (a string of an increasing integer)."""
        with self._lock:
            cur = self._conn.execute(
                "INSERT INTO events (org_id, run_id, job_id, kind, internal, doc) VALUES (?, ?, ?, ?, ?, '')",
                (org_id, run_id, job_id, doc["kind"], 1 if internal else 0),
            )
            event_id = int(cur.lastrowid or 0)
            doc = dict(doc, id=str(event_id))
            self._conn.execute("UPDATE events SET doc = ? WHERE id = ?", (_dumps(doc), event_id))
        return doc

    def events_after(
        self,
        after_id: int,
        *,
        org_ids: Optional[Sequence[str]] = None,
        run_id: Optional[str] = None,
        job_id: Optional[str] = None,
        include_internal: bool = False,
        limit: int = 500,
    ) -> List[Doc]:
        """Events with an id greater than ``after_id`` matching the filters, oldest first."""
        clauses = ["id > ?"]
        args: List[Any] = [after_id]
        if org_ids is not None:
            if not org_ids:
                return []
            clauses.append(f"org_id IN ({', '.join('?' for _ in org_ids)})")
            args.extend(org_ids)
        if run_id is not None:
            clauses.append("run_id = ?")
            args.append(run_id)
        if job_id is not None:
            clauses.append("job_id = ?")
            args.append(job_id)
        if not include_internal:
            clauses.append("internal = 0")
        sql = f"SELECT doc FROM events WHERE {' AND '.join(clauses)} ORDER BY id LIMIT ?"
        args.append(limit)
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        return [json.loads(r[0]) for r in rows]

    def last_event_id(self) -> int:
        with self._lock:
            row = self._conn.execute("SELECT MAX(id) FROM events").fetchone()
        return int(row[0] or 0)


class _Transaction:
    def __init__(self, store: Store) -> None:
        self._store = store

    def __enter__(self) -> Store:
        self._store._lock.acquire()
        self._store._conn.execute("BEGIN")
        return self._store

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        try:
            self._store._conn.execute("ROLLBACK" if exc_type else "COMMIT")
        finally:
            self._store._lock.release()


def _dumps(doc: Doc) -> str:
    return json.dumps(doc, separators=(",", ":"), default=str)


def _sql_value(value: Any) -> Any:
    # json_extract yields SQLite integers for JSON booleans.
    if isinstance(value, bool):
        return 1 if value else 0
    return value
