"""Persistent response cache for LLM calls: SQLite (WAL), one row per call, first write wins.

A call's key covers everything that determines its answer -- endpoint, model, messages,
sampling parameters and the replicate index -- so an interrupted run replays identically from
the cache, and repeated samples at temperature > 0 stay distinct. API keys never enter the key
or the file.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import queue
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import quote

from negoray.chat import ChatParams, ChatReply, Message

__all__ = ["CacheMode", "CacheStats", "ResponseCache", "cache_key"]

log = logging.getLogger(__name__)

KEY_VERSION = 1
"""Bump when the key payload changes meaning: old rows then simply stop matching."""

_REPLY_KEY = "negoray.reply"
"""Where a row's ``extra`` JSON holds the reply's finish_reason, reasoning and reasoning_tokens
(no schema change: files written before them simply have none)."""
_REPLY_FIELDS = ("finish_reason", "reasoning", "reasoning_tokens", "endpoint", "cached_prompt_tokens", "tier")

_BUSY_TIMEOUT_MS = 5_000
_LOCK_RETRIES = 10
_T = TypeVar("_T")


def _plain(value: Any) -> Any:
    """Turn mappings and sequences (e.g. a ``MappingProxyType`` response_format) into JSON types."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def cache_key(endpoint: str, model: str, messages: Sequence[Message], params: ChatParams, *,
              extra_body: Mapping[str, Any] | None = None) -> str:
    """The sha256 hex key of one call.

    Covers the endpoint's base URL (trailing ``/`` ignored), the model, each message's role and
    content (other message fields and dict order do not matter), temperature, max_tokens, seed,
    response_format and ``params.replicate``, plus any ``extra_body`` fields the request carries
    (e.g. the reasoning switch: a reply with thinking on is not a reply with thinking off).
    """
    payload = {
        "v": KEY_VERSION,
        "endpoint": endpoint.rstrip("/"),
        "model": model,
        "messages": [{"role": m["role"], "content": m.get("content")} for m in messages],
        "params": {
            "temperature": float(params.temperature) + 0.0,  # 1 == 1.0, -0.0 == 0.0
            "max_tokens": int(params.max_tokens),
            "seed": None if params.seed is None else int(params.seed),
            "response_format": _plain(params.response_format),
            "replicate": int(params.replicate),
        },
    }
    if extra_body:  # absent when empty, so keys of calls without extra fields stay as they were
        payload["extra_body"] = _plain(extra_body)
    return hashlib.sha256(_canonical_json(payload).encode("utf-8", "surrogatepass")).hexdigest()


class CacheMode(str, Enum):
    """``rw``: read and write; ``ro``: replay only, never write; ``off``: no cache, no disk."""

    READ_WRITE = "rw"
    READ_ONLY = "ro"
    OFF = "off"


@dataclass(frozen=True)
class CacheStats:
    """Counters of one `ResponseCache` instance (this process only)."""

    hits: int = 0
    misses: int = 0
    writes: int = 0
    """Rows actually inserted (a put whose key was already present is not counted)."""

    @property
    def hit_rate(self) -> float:
        lookups = self.hits + self.misses
        return self.hits / lookups if lookups else 0.0


_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key               TEXT PRIMARY KEY,
    text              TEXT NOT NULL,
    prompt_tokens     INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    provider          TEXT NOT NULL,
    model             TEXT NOT NULL,
    extra             TEXT NOT NULL,
    created_at        REAL NOT NULL
)
"""


def _is_locked(exc: sqlite3.OperationalError) -> bool:
    msg = str(exc).lower()
    return "locked" in msg or "busy" in msg


_INSERT = (
    "INSERT OR IGNORE INTO responses"
    " (key, text, prompt_tokens, completion_tokens, provider, model, extra, created_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)

_SELECT = "SELECT text, prompt_tokens, completion_tokens, provider, model, extra FROM responses WHERE key = ?"


def _settle(done: asyncio.Future, error: BaseException | None, result: Any = None) -> None:
    if not done.done():
        done.set_exception(error) if error is not None else done.set_result(result)


def _reply_of(row: Sequence[Any]) -> ChatReply:
    """A stored row (text, prompt_tokens, completion_tokens, provider, model, extra) as a cache hit."""
    text, prompt_tokens, completion_tokens, provider, model, extra = row
    extra = json.loads(extra)
    answer = extra.pop(_REPLY_KEY, {}) if isinstance(extra, dict) else {}
    return ChatReply(
        text=text,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        latency_s=0.0,
        cache_hit=True,
        attempts=0,
        provider=provider,
        model=model,
        extra=extra,
        finish_reason=answer.get("finish_reason"),
        reasoning=answer.get("reasoning", ""),
        reasoning_tokens=answer.get("reasoning_tokens", 0),
        endpoint=answer.get("endpoint", ""),
        cached_prompt_tokens=answer.get("cached_prompt_tokens", 0),
        tier=answer.get("tier", ""),
    )


class ResponseCache:
    """SQLite-backed cache of `ChatReply` by `cache_key`.

    Each thread (and each process) uses its own connection; every put commits on its own, so a
    writer killed at any moment leaves a consistent file holding every put that returned. Safe
    for many threads and processes writing one file at once.
    """

    def __init__(self, path: str | Path, mode: CacheMode | str = CacheMode.READ_WRITE) -> None:
        self.path = Path(path)
        self.mode = CacheMode(mode)
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._closed = False
        self._hits = self._misses = self._writes = 0
        self._queue: queue.SimpleQueue | None = None
        self._queue_pid = 0
        if self.mode is CacheMode.READ_ONLY and not self.path.is_file():
            raise FileNotFoundError(
                f"response cache {str(self.path)!r} does not exist (read-only mode never creates it)"
            )
        if self.mode is not CacheMode.OFF:
            self._conn()  # open now so a bad path or a foreign file fails here, not mid-run

    # -- connections -------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if self.mode is CacheMode.READ_ONLY:
            uri = f"file:{quote(str(self.path.resolve()))}?mode=ro"
            conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA query_only=ON")
            has_table = self._retry(
                lambda: conn.execute(
                    "SELECT 1 FROM sqlite_master WHERE type='table' AND name='responses'"
                ).fetchone()
            )
            if has_table is None:
                conn.close()
                raise ValueError(f"{str(self.path)!r} is not a negoray response cache (no 'responses' table)")
            return conn
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: autocommit, so each INSERT is its own durable transaction.
        conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        self._retry(lambda: conn.execute("PRAGMA journal_mode=WAL").fetchone())
        conn.execute("PRAGMA synchronous=NORMAL")
        self._retry(lambda: conn.execute(_SCHEMA))
        return conn

    def _conn(self) -> sqlite3.Connection:
        if self._closed:
            raise RuntimeError(f"response cache {str(self.path)!r} is closed")
        if os.getpid() != self._pid:  # forked: inherited connections must not be used
            self._local = threading.local()
            self._conns = []
            self._lock = threading.Lock()
            self._pid = os.getpid()
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._lock:
                self._conns.append(conn)
        return conn

    @staticmethod
    def _retry(fn: Callable[[], _T]) -> _T:
        """Run ``fn``, retrying a bounded number of times while the database is locked."""
        for attempt in range(_LOCK_RETRIES):
            try:
                return fn()
            except sqlite3.OperationalError as exc:
                if not _is_locked(exc) or attempt == _LOCK_RETRIES - 1:
                    raise
                delay = min(0.5, 0.01 * 2**attempt) * (0.5 + random.random())
                log.debug("response cache locked (%s); retry %d in %.3fs", exc, attempt + 1, delay)
                time.sleep(delay)
        raise AssertionError("unreachable")

    # -- reads and writes --------------------------------------------------------------------

    def get(self, key: str) -> ChatReply | None:
        """The cached reply for ``key`` (``cache_hit=True``, ``latency_s=0``, ``attempts=0``), or None."""
        if self.mode is CacheMode.OFF:
            with self._lock:
                self._misses += 1
            return None
        conn = self._conn()
        row = self._retry(lambda: conn.execute(_SELECT, (key,)).fetchone())
        with self._lock:
            if row is None:
                self._misses += 1
            else:
                self._hits += 1
        return None if row is None else _reply_of(row)

    def _row(self, key: str, reply: ChatReply) -> tuple[Any, ...]:
        stored = _plain(reply.extra)
        answer = {k: getattr(reply, k) for k in _REPLY_FIELDS if getattr(reply, k)}
        if answer:
            stored = {**stored, _REPLY_KEY: answer}
        extra = json.dumps(stored, sort_keys=True, separators=(",", ":"), default=str)
        return (key, reply.text, int(reply.prompt_tokens), int(reply.completion_tokens), reply.provider,
                reply.model, extra, time.time())

    def _insert(self, rows: list[tuple[Any, ...]]) -> list[ChatReply | None]:
        """Insert rows in one transaction (first write of a key wins); for each row, None if it was
        stored, else the reply an earlier write had stored under its key."""
        conn = self._conn()

        def write() -> list[ChatReply | None]:
            conn.execute("BEGIN IMMEDIATE")
            try:
                earlier: list[ChatReply | None] = []
                for row in rows:
                    stored = conn.execute(_INSERT, row).rowcount == 1
                    earlier.append(None if stored else _reply_of(conn.execute(_SELECT, row[:1]).fetchone()))
                conn.execute("COMMIT")
                return earlier
            except BaseException:
                conn.execute("ROLLBACK")
                raise

        earlier = self._retry(write)
        with self._lock:
            self._writes += earlier.count(None)
        return earlier

    def put(self, key: str, reply: ChatReply) -> ChatReply:
        """Store ``reply`` under ``key`` and commit; the first write of a key wins. Returns what the
        cache holds under ``key`` now: ``reply`` itself if this put stored it, else the reply an earlier
        write stored (as `get` returns it), which the caller should use instead of its own.

        A no-op in ``ro`` and ``off`` modes (returns ``reply``). ``reply.extra`` is stored as JSON
        (values that are not JSON become their ``str``); latency, attempts and cache_hit are not stored.
        """
        if self.mode is not CacheMode.READ_WRITE:
            return reply
        return self._insert([self._row(key, reply)])[0] or reply

    async def aget(self, key: str) -> ChatReply | None:
        """`get`, inline: a read of a WAL database by primary key never waits for writers."""
        return self.get(key)

    async def aput(self, key: str, reply: ChatReply) -> ChatReply:
        """`put` by group commit: concurrent puts share one transaction in a writer thread, and
        each returns (what `put` returns) once its row is committed, so the event loop never blocks on disk."""
        if self.mode is not CacheMode.READ_WRITE:
            return reply
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        self._writer().put((self._row(key, reply), loop, done))
        return await done or reply

    def _writer(self) -> queue.SimpleQueue:
        with self._lock:
            if self._queue is None or os.getpid() != self._queue_pid:
                self._queue, self._queue_pid = queue.SimpleQueue(), os.getpid()
                threading.Thread(target=self._write_batches, args=(self._queue,), name="negoray-cache-writer",
                                 daemon=True).start()
            return self._queue

    def _write_batches(self, q: queue.SimpleQueue) -> None:
        while True:
            batch = [q.get()]
            while len(batch) < 512:
                try:
                    batch.append(q.get_nowait())
                except queue.Empty:
                    break
            try:
                earlier = self._insert([row for row, _, _ in batch])
                error: BaseException | None = None
            except BaseException as e:  # noqa: BLE001 - handed to every waiting put
                earlier, error = [None] * len(batch), e
            for (_, loop, done), stored in zip(batch, earlier):
                loop.call_soon_threadsafe(_settle, done, error, stored)

    # -- housekeeping ------------------------------------------------------------------------

    def stats(self) -> CacheStats:
        """Hits, misses and writes of this instance since it was opened."""
        with self._lock:
            return CacheStats(hits=self._hits, misses=self._misses, writes=self._writes)

    def __len__(self) -> int:
        """Number of cached replies in the file (0 in ``off`` mode)."""
        if self.mode is CacheMode.OFF:
            return 0
        conn = self._conn()
        return int(self._retry(lambda: conn.execute("SELECT COUNT(*) FROM responses").fetchone())[0])

    def close(self) -> None:
        """Close every connection this instance opened (in any thread). Idempotent."""
        with self._lock:
            conns, self._conns = self._conns, []
            self._closed = True
        for conn in conns:
            try:
                conn.close()
            except sqlite3.Error:  # pragma: no cover - closing is best effort
                log.debug("error closing response cache connection", exc_info=True)
        self._local = threading.local()

    def __enter__(self) -> ResponseCache:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __reduce__(self) -> tuple[type[ResponseCache], tuple[str, str]]:
        """Pickle as (path, mode): the receiving process opens its own connections."""
        return (type(self), (str(self.path), self.mode.value))

    def __repr__(self) -> str:
        return f"ResponseCache({str(self.path)!r}, mode={self.mode.value!r})"
