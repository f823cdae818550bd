"""`BatchTransport`: the calls of every negotiation in flight in this process, turned into Batch API
jobs, turn by turn.

Why here: a negotiation's turns depend on one another, but the negotiations of a stage do not. In
batch mode the runtime hands a whole stage to one task (`negoray.runtime.ray_backend.RayBackend`
with ``lockstep``), so every negotiation of the stage runs as a coroutine in one process and calls
one `LLMClient`, whose transport is this. Each negotiation sends its next call and waits; once no new
call has arrived for ``gather_s`` (every negotiation is waiting), the waiting calls become one batch
(split to the provider's limits: requests, bytes, enqueued tokens), and each negotiation continues
when its result arrives. The stage thus advances in lockstep, one batch per turn, and stays a pure
transport: the same requests, the same seeds, the same answers as on the standard tier.

Crash safety comes from the `BatchJournal`: a batch is on disk before its input is uploaded, its id
as soon as it is known, its results before anyone reads them. A call whose key the journal holds is
answered from the batch that holds it (polled, or read back) instead of being sent again.

Fewer waiting calls than ``min_requests`` (a mutation call, the last stragglers) are handed back
(`send` returns None) for the client to send on the standard tier.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import openai

from negoray.chat import messages_tokens
from negoray.llm.batch_journal import COLLECTED, PREPARING, SUBMITTED, BatchJournal, JournalEntry
from negoray.llm.tiers import TierOffer

log = logging.getLogger(__name__)

TERMINAL = ("completed", "failed", "expired", "cancelled")
_TRANSIENT = (openai.APIConnectionError, openai.APITimeoutError, openai.InternalServerError, openai.RateLimitError)


@dataclass(frozen=True)
class BatchOutcome:
    """One request's result from a batch: ``status_code`` 200 with a chat-completion ``body``, or a
    per-request failure (``status_code`` 0 when the batch itself expired, failed or was cancelled)."""

    status_code: int
    body: dict[str, Any] | None
    error: str | None
    batch_id: str


@dataclass
class InFlight:
    """A batch being waited for (the live progress shows these)."""

    batch_id: str
    requests: int
    submitted_wall: float


def _outcome(result: dict[str, Any], batch_id: str) -> BatchOutcome:
    return BatchOutcome(int(result.get("status_code") or 0), result.get("body"), result.get("error"), batch_id)


def _result_of(line: dict[str, Any]) -> dict[str, Any]:
    """An output- or error-file line as ``{"status_code", "body"}`` or ``{"status_code", "error"}``."""
    response = line.get("response") or {}
    status = int(response.get("status_code") or 0)
    body = response.get("body")
    if status == 200 and isinstance(body, dict):
        return {"status_code": 200, "body": body}
    error = line.get("error") or (body.get("error") if isinstance(body, dict) else None) or {}
    message = error.get("message") if isinstance(error, dict) else str(error)
    code = error.get("code") if isinstance(error, dict) else None
    return {"status_code": status, "error": f"{code + ': ' if code else ''}{message or 'failed'}"}


class BatchTransport:
    """Collects calls into Batch API jobs on ``sdk``'s endpoint, within ``offer``'s limits."""

    def __init__(self, sdk: openai.AsyncOpenAI, offer: TierOffer, journal: BatchJournal | None = None, *,
                 gather_s: float = 0.2, min_requests: int = 1, poll_min_s: float = 0.05, poll_max_s: float = 30.0,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep, clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time) -> None:
        self.sdk, self.offer = sdk, offer
        self.journal = journal if journal is not None else BatchJournal()
        self.gather_s, self.min_requests = gather_s, min_requests
        self.poll_min_s, self.poll_max_s = poll_min_s, poll_max_s
        self._sleep, self._clock, self._wall = sleep, clock, wall
        self._pending: dict[str, tuple[dict[str, Any], asyncio.Future[BatchOutcome | None]]] = {}
        self._last_arrival = 0.0
        self._flusher: asyncio.Task[None] | None = None
        self._watchers: dict[str, asyncio.Task[dict[str, dict[str, Any]]]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._recoveries: dict[str, asyncio.Task[bool]] = {}
        self.in_flight: dict[str, InFlight] = {}
        """Batches submitted and not yet collected, by local id."""

    # -- the one entry point -------------------------------------------------------------------

    async def send(self, custom_id: str, body: dict[str, Any]) -> BatchOutcome | None:
        """The result of ``body`` sent in a batch (or found in the journal); None: send it on the
        standard tier instead (fewer than ``min_requests`` were waiting)."""
        entry = self.journal.find(custom_id)
        if entry is not None and (found := await self._from_journal(entry, custom_id)) is not None:
            return found
        future: asyncio.Future[BatchOutcome | None] = asyncio.get_running_loop().create_future()
        self._pending[custom_id] = (body, future)
        self._last_arrival = self._clock()
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.ensure_future(self._flush_when_quiet())
        return await future

    async def _from_journal(self, entry: JournalEntry, custom_id: str) -> BatchOutcome | None:
        """The journal's answer for a request: a collected result that succeeded, or the result of the
        batch in flight that holds it; None when it must be sent (again)."""
        if entry.state == PREPARING and not await self._recover(entry):
            return None
        if entry.state == SUBMITTED:
            await self._watch(entry)
        if entry.state != COLLECTED:
            return None
        result = self.journal.results(entry).get(custom_id)
        if result is None or result.get("status_code") != 200:
            return None  # a failure is reported once, to the call that waited for it; a new call retries it
        return _outcome(result, entry.batch_id or "")

    # -- gathering -----------------------------------------------------------------------------

    async def _flush_when_quiet(self) -> None:
        while self._pending:
            await self._sleep(self.gather_s)
            if self._clock() - self._last_arrival < self.gather_s and len(self._pending) < self.offer.max_requests:
                continue  # calls are still arriving: every negotiation has not caught up yet
            waiting, self._pending = self._pending, {}
            if len(waiting) < self.min_requests:
                for _, future in waiting.values():
                    if not future.done():
                        future.set_result(None)
                continue
            for chunk in self._chunks(waiting):
                task = asyncio.ensure_future(self._run(chunk))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    def _chunks(self, waiting: dict[str, tuple[dict[str, Any], asyncio.Future]]) -> list[dict[str, tuple[str, Any]]]:
        """Split into batches within the offer's requests, bytes and enqueued-token limits."""
        chunks: list[dict[str, tuple[str, Any]]] = []
        current: dict[str, tuple[str, Any]] = {}
        size = tokens = 0
        for cid, (body, future) in waiting.items():
            line = json.dumps({"custom_id": cid, "method": "POST", "url": "/v1/chat/completions", "body": body},
                              separators=(",", ":")) + "\n"
            n = messages_tokens(body.get("messages", []))
            full = (len(current) >= self.offer.max_requests or size + len(line) > self.offer.max_bytes
                    or (self.offer.max_enqueued_tokens is not None and tokens + n > self.offer.max_enqueued_tokens))
            if current and full:
                chunks.append(current)
                current, size, tokens = {}, 0, 0
            current[cid] = (line, future)
            size, tokens = size + len(line), tokens + n
        if current:
            chunks.append(current)
        return chunks

    # -- one batch -----------------------------------------------------------------------------

    async def _run(self, chunk: dict[str, tuple[str, asyncio.Future]]) -> None:
        entry = self.journal.begin(list(chunk))
        try:
            await self._submit(entry, "".join(line for line, _ in chunk.values()).encode())
            results = await self._watch(entry)
        except Exception as e:
            if entry.state == PREPARING and not isinstance(e, asyncio.CancelledError):
                try:
                    found = await self._recover(entry)  # was it created after all? then it is collected, not resent
                except Exception:
                    found = False
                if found:
                    try:
                        results = await self._watch(entry)
                    except Exception as again:
                        e = again
                    else:
                        self._answer(chunk, results, entry)
                        return
            for _, future in chunk.values():
                if not future.done():
                    future.set_exception(e)
            return
        self._answer(chunk, results, entry)

    def _answer(self, chunk: dict[str, tuple[str, asyncio.Future]], results: dict[str, dict[str, Any]],
                entry: JournalEntry) -> None:
        for cid, (_, future) in chunk.items():
            if not future.done():
                future.set_result(_outcome(results.get(cid, {"status_code": 0, "error": "missing from the batch's results"}),
                                           entry.batch_id or ""))

    async def _submit(self, entry: JournalEntry, data: bytes) -> None:
        file = await self.sdk.files.create(file=("negoray-batch.jsonl", data, "application/jsonl"), purpose="batch")
        batch = await self.sdk.batches.create(
            input_file_id=file.id, endpoint="/v1/chat/completions", completion_window=self.offer.completion_window,  # type: ignore[arg-type]
            metadata={"negoray_batch": entry.local_id},
        )
        self.journal.submitted(entry, batch.id)
        log.info("batch %s submitted: %d requests", batch.id, len(entry.custom_ids))

    async def _recover(self, entry: JournalEntry) -> bool:
        """Find a ``preparing`` batch among the provider's batches by its metadata; abandon it if absent
        (one search per batch, shared by every call that waits for it)."""
        task = self._recoveries.get(entry.local_id)
        if task is None or (task.done() and (task.cancelled() or task.exception() is not None)):  # a failed search is retried
            task = self._recoveries[entry.local_id] = asyncio.ensure_future(self._search(entry))
        return await asyncio.shield(task)

    async def _search(self, entry: JournalEntry) -> bool:
        async for batch in self.sdk.batches.list(limit=100):  # newest first
            if (batch.metadata or {}).get("negoray_batch") == entry.local_id:
                self.journal.submitted(entry, batch.id)
                return True
            if batch.created_at < entry.created_wall - 3600:  # older than the entry: it was never created
                break
        self.journal.abandon(entry)
        return False

    async def _watch(self, entry: JournalEntry) -> dict[str, dict[str, Any]]:
        """Poll the batch to its end and collect its results (one watcher per batch, shared)."""
        assert entry.batch_id is not None
        task = self._watchers.get(entry.batch_id)
        if task is None:
            task = self._watchers[entry.batch_id] = asyncio.ensure_future(self._poll_and_collect(entry))
        return await asyncio.shield(task)

    async def _poll_and_collect(self, entry: JournalEntry) -> dict[str, dict[str, Any]]:
        assert entry.batch_id is not None
        self.in_flight[entry.local_id] = InFlight(entry.batch_id, len(entry.custom_ids), self._wall())
        started = self._clock()
        try:
            while True:
                try:
                    batch = await self.sdk.batches.retrieve(entry.batch_id)
                except _TRANSIENT as e:  # the batch is paid for: keep polling through transient errors
                    log.info("polling batch %s: %s", entry.batch_id, type(e).__name__)
                    batch = None
                if batch is not None and batch.status in TERMINAL:
                    break
                await self._sleep(min(self.poll_max_s, max(self.poll_min_s, (self._clock() - started) / 4)))
            results: dict[str, dict[str, Any]] = {}
            for file_id in (batch.output_file_id, batch.error_file_id):
                if file_id:
                    content = await self.sdk.files.content(file_id)
                    for line in content.text.splitlines():
                        if line.strip():
                            parsed = json.loads(line)
                            results[parsed["custom_id"]] = _result_of(parsed)
            for cid in entry.custom_ids:
                results.setdefault(cid, {"status_code": 0, "error": f"batch {batch.status}"})
            self.journal.collected(entry, results)
            return results
        finally:
            self.in_flight.pop(entry.local_id, None)
