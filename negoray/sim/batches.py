"""`sim-serve`'s OpenAI-compatible Files and Batch API: ``POST /v1/files`` (a multipart JSONL upload,
purpose ``batch``), ``GET /v1/files/{id}/content``, ``POST /v1/batches``, ``GET /v1/batches/{id}``,
``GET /v1/batches`` (newest first, ``limit``/``after``) and ``POST /v1/batches/{id}/cancel``.

Shapes follow https://platform.openai.com/docs/api-reference/batch (looked up 2026-12-02): an input
line is ``{"custom_id", "method": "POST", "url": "/v1/chat/completions", "body"}``; an output line
``{"id", "custom_id", "response": {"status_code", "request_id", "body"}, "error": null}``; failed
requests go to the error file, an expired batch's unfinished ones with
``{"code": "batch_expired"}``. A batch is ``in_progress`` until ``batch_delay_s`` after its creation,
then completes on the next poll (the injected clock decides). Per-request failures and expiry come
from a seeded generator. Counters (`BatchStats`) show how often each ``custom_id`` was submitted.
"""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

import numpy as np
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from negoray.sim.faults import FaultConfig
from negoray.sim.wire import invalid_request

Answer = Callable[[dict[str, Any]], tuple[int, dict[str, Any]]]
"""One chat-completions request body -> (HTTP status, response body)."""

EXPIRED_ERROR = {"code": "batch_expired",
                 "message": "This request could not be executed before the completion window expired."}


@dataclass
class BatchStats:
    """The Batch API's counters in ``GET /stats`` (``batches``)."""

    files: int = 0
    created: int = 0
    completed: int = 0
    expired: int = 0
    requests: int = 0
    """Request lines submitted in all batches."""
    unique_requests: int = 0
    """Distinct ``custom_id``s submitted."""
    resubmitted: int = 0
    """Lines whose ``custom_id`` had been submitted in an earlier batch (a retry, or paying twice)."""
    failed_requests: int = 0
    polls: int = 0


@dataclass
class _Batch:
    id: str
    input_file_id: str
    created_at: float
    created_wall: int
    metadata: dict[str, str]
    lines: list[dict[str, Any]]
    status: str = "in_progress"
    output_file_id: str | None = None
    error_file_id: str | None = None
    counts: dict[str, int] = field(default_factory=lambda: {"total": 0, "completed": 0, "failed": 0})

    def body(self) -> dict[str, Any]:
        return {"id": self.id, "object": "batch", "endpoint": "/v1/chat/completions", "errors": None,
                "input_file_id": self.input_file_id, "completion_window": "24h", "status": self.status,
                "output_file_id": self.output_file_id, "error_file_id": self.error_file_id,
                "created_at": self.created_wall, "request_counts": dict(self.counts), "metadata": self.metadata}


def _multipart_fields(content_type: str, raw: bytes) -> dict[str, bytes]:
    """The fields of a multipart/form-data body (the stdlib's MIME parser; no python-multipart)."""
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw)
    out: dict[str, bytes] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name:
            out[str(name)] = part.get_payload(decode=True) or b""
    return out


def _invalid(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse(invalid_request(message), status_code=status)


class SimBatches:
    """The files and batches a sim server holds, and how it answers them."""

    def __init__(self, config: FaultConfig, answer: Answer, clock: Callable[[], float]) -> None:
        self.config, self.answer, self.clock = config, answer, clock
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, _Batch] = {}
        self.stats = BatchStats()
        self._submitted: set[str] = set()
        self._rng = np.random.default_rng(config.seed + 7)

    def reset(self) -> None:
        self.stats = BatchStats()
        self._submitted.clear()

    def stats_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self.stats), "in_progress": sum(b.status == "in_progress" for b in self.batches.values())}

    # -- routes --------------------------------------------------------------------------------

    async def upload(self, request: Request) -> Response:
        fields = _multipart_fields(request.headers.get("content-type", ""), await request.body())
        if fields.get("purpose", b"").decode() != "batch" or "file" not in fields:
            return _invalid("expected multipart fields 'purpose' = 'batch' and 'file'")
        file_id = f"file-{uuid.uuid4().hex[:24]}"
        self.files[file_id] = fields["file"]
        self.stats.files += 1
        return JSONResponse(self._file_body(file_id, "batch"))

    def _file_body(self, file_id: str, purpose: str) -> dict[str, Any]:
        return {"id": file_id, "object": "file", "bytes": len(self.files[file_id]), "created_at": int(time.time()),
                "filename": f"{file_id}.jsonl", "purpose": purpose, "status": "processed"}

    async def content(self, request: Request) -> Response:
        data = self.files.get(request.path_params["file_id"])
        if data is None:
            return _invalid("No such File object", 404)
        return Response(data, media_type="application/octet-stream")

    async def create(self, request: Request) -> Response:
        body = json.loads(await request.body())
        data = self.files.get(body.get("input_file_id", ""))
        if data is None:
            return _invalid(f"No such File object: {body.get('input_file_id')!r}", 404)
        if body.get("endpoint") != "/v1/chat/completions":
            return _invalid("endpoint must be /v1/chat/completions")
        try:
            lines = [json.loads(line) for line in data.decode().splitlines() if line.strip()]
        except ValueError:
            return _invalid("the input file is not valid JSONL")
        ids = [line.get("custom_id") for line in lines]
        if len(set(ids)) != len(ids) or None in ids:
            return _invalid("every line needs a custom_id, unique within the batch")
        batch = _Batch(f"batch_{uuid.uuid4().hex[:24]}", body["input_file_id"], self.clock(), int(time.time()),
                       dict(body.get("metadata") or {}), lines)
        batch.counts["total"] = len(lines)
        self.batches[batch.id] = batch
        s = self.stats
        s.created += 1
        s.requests += len(lines)
        for cid in ids:
            s.resubmitted += cid in self._submitted
            s.unique_requests += cid not in self._submitted
            self._submitted.add(cid)
        return JSONResponse(batch.body())

    async def retrieve(self, request: Request) -> Response:
        batch = self.batches.get(request.path_params["batch_id"])
        if batch is None:
            return _invalid("No such Batch object", 404)
        self.stats.polls += 1
        if batch.status == "in_progress" and self.clock() - batch.created_at >= self.config.batch_delay_s:
            self._finish(batch)
        return JSONResponse(batch.body())

    async def list(self, request: Request) -> Response:
        limit = int(request.query_params.get("limit", 20))
        after = request.query_params.get("after")
        ordered = sorted(self.batches.values(), key=lambda b: b.created_at, reverse=True)
        if after is not None:
            ids = [b.id for b in ordered]
            ordered = ordered[ids.index(after) + 1:] if after in ids else []
        page = ordered[:limit]
        return JSONResponse({"object": "list", "data": [b.body() for b in page], "has_more": len(ordered) > limit,
                             "first_id": page[0].id if page else None, "last_id": page[-1].id if page else None})

    async def cancel(self, request: Request) -> Response:
        batch = self.batches.get(request.path_params["batch_id"])
        if batch is None:
            return _invalid("No such Batch object", 404)
        if batch.status == "in_progress":
            batch.status = "cancelled"
        return JSONResponse(batch.body())

    def routes(self) -> list[Route]:
        return [
            Route("/v1/files", self.upload, methods=["POST"]),
            Route("/v1/files/{file_id}/content", self.content, methods=["GET"]),
            Route("/v1/batches", self.create, methods=["POST"]),
            Route("/v1/batches", self.list, methods=["GET"]),
            Route("/v1/batches/{batch_id}", self.retrieve, methods=["GET"]),
            Route("/v1/batches/{batch_id}/cancel", self.cancel, methods=["POST"]),
        ]

    # -- answering -----------------------------------------------------------------------------

    def _finish(self, batch: _Batch) -> None:
        expired = self._rng.random() < self.config.batch_expire_rate
        done = len(batch.lines) // 2 if expired else len(batch.lines)
        output, errors = [], []
        for i, line in enumerate(batch.lines):
            cid = line["custom_id"]
            entry: dict[str, Any] = {"id": f"batch_req_{uuid.uuid4().hex[:24]}", "custom_id": cid}
            if i >= done:
                errors.append({**entry, "response": None, "error": EXPIRED_ERROR})
                continue
            if self._rng.random() < self.config.batch_error_rate:
                error = {"error": {"message": "The server had an error while processing your request.",
                                   "type": "server_error", "param": None, "code": None}}
                errors.append({**entry, "response": {"status_code": 500, "request_id": cid, "body": error}, "error": None})
                continue
            status, body = self.answer(line.get("body") or {})
            target = output if status == 200 else errors
            target.append({**entry, "response": {"status_code": status, "request_id": cid, "body": body}, "error": None})
        batch.counts.update(completed=len(output), failed=len(errors))
        self.stats.failed_requests += len(errors)
        batch.output_file_id = self._store(output)
        batch.error_file_id = self._store(errors)
        batch.status = "expired" if expired else "completed"
        self.stats.expired += expired
        self.stats.completed += not expired

    def _store(self, lines: list[dict[str, Any]]) -> str | None:
        if not lines:
            return None
        file_id = f"file-{uuid.uuid4().hex[:24]}"
        self.files[file_id] = "".join(json.dumps(x, separators=(",", ":")) + "\n" for x in lines).encode()
        return file_id
