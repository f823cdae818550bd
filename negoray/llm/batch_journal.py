"""The Batch API journal: every batch negoray submits, written to the results directory *before*
submission, so a driver killed at any moment (kill -9 included) re-attaches to its batches instead
of paying for them again.

One JSON file per batch, ``<local_id>.json``: its request keys (``custom_id``s, the calls' cache
keys), the provider's batch id once it is known and its state:

- ``preparing``: written before the input file is uploaded. A batch may or may not have been
  created; it carries ``metadata.negoray_batch = local_id``, so a rerun finds it by listing batches.
- ``submitted``: the batch id is known; a rerun polls it.
- ``collected``: its results are in ``<local_id>.results.jsonl`` (one ``{"custom_id", "status_code",
  "body" | "error"}`` a line); a rerun answers from them.
- ``abandoned``: a ``preparing`` batch the provider never created; its requests go out again.

Files are replaced atomically (write, fsync, rename). Without a directory the journal lives in memory
(no crash safety: `negoray.compat`, one-off clients).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PREPARING, SUBMITTED, COLLECTED, ABANDONED = "preparing", "submitted", "collected", "abandoned"


@dataclass
class JournalEntry:
    local_id: str
    custom_ids: list[str]
    state: str = PREPARING
    batch_id: str | None = None
    created_wall: float = field(default_factory=time.time)
    results: dict[str, dict[str, Any]] | None = field(default=None, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {"local_id": self.local_id, "custom_ids": self.custom_ids, "state": self.state, "batch_id": self.batch_id,
                "created_wall": self.created_wall}


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class BatchJournal:
    """Batches by local id, and which batch holds each request key (the latest that does)."""

    def __init__(self, directory: str | Path | None = None) -> None:
        self.directory = Path(directory) if directory is not None else None
        self.entries: dict[str, JournalEntry] = {}
        self._by_request: dict[str, str] = {}
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
            for path in sorted(self.directory.glob("*.json")):
                try:
                    data = json.loads(path.read_text())
                    entry = JournalEntry(data["local_id"], list(data["custom_ids"]), data["state"], data.get("batch_id"),
                                         data.get("created_wall", 0.0))
                except (OSError, ValueError, KeyError):
                    continue  # a foreign or torn file (writes are atomic, so not ours)
                if entry.state != ABANDONED:
                    self._index(entry)

    def _index(self, entry: JournalEntry) -> None:
        self.entries[entry.local_id] = entry
        for cid in entry.custom_ids:
            self._by_request[cid] = entry.local_id

    def _save(self, entry: JournalEntry) -> None:
        if self.directory is not None:
            _write_atomic(self.directory / f"{entry.local_id}.json", json.dumps(entry.to_json()).encode())

    def find(self, custom_id: str) -> JournalEntry | None:
        local_id = self._by_request.get(custom_id)
        return None if local_id is None else self.entries.get(local_id)

    def begin(self, custom_ids: list[str]) -> JournalEntry:
        """A new batch of these requests, on disk before anything is sent."""
        entry = JournalEntry(uuid.uuid4().hex, list(custom_ids))
        self._save(entry)
        self._index(entry)
        return entry

    def submitted(self, entry: JournalEntry, batch_id: str) -> None:
        entry.batch_id, entry.state = batch_id, SUBMITTED
        self._save(entry)

    def abandon(self, entry: JournalEntry) -> None:
        entry.state = ABANDONED
        self._save(entry)
        for cid in entry.custom_ids:
            if self._by_request.get(cid) == entry.local_id:
                del self._by_request[cid]

    def collected(self, entry: JournalEntry, results: dict[str, dict[str, Any]]) -> None:
        """The batch's results, on disk before its state says so."""
        if self.directory is not None:
            lines = "".join(json.dumps({"custom_id": cid, **r}, separators=(",", ":")) + "\n" for cid, r in results.items())
            _write_atomic(self.directory / f"{entry.local_id}.results.jsonl", lines.encode())
        entry.results, entry.state = results, COLLECTED
        self._save(entry)

    def results(self, entry: JournalEntry) -> dict[str, dict[str, Any]]:
        """A collected batch's results (read from disk once, after a restart)."""
        if entry.results is None:
            entry.results = {}
            path = None if self.directory is None else self.directory / f"{entry.local_id}.results.jsonl"
            if path is not None and path.exists():
                for line in path.read_text().splitlines():
                    if line.strip():
                        r = json.loads(line)
                        entry.results[r.pop("custom_id")] = r
        return entry.results
