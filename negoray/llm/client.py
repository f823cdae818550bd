"""`LLMClient`: one async client for every provider, over `openai.AsyncOpenAI`.

Each call goes: cache -> budget -> rate limiter -> SDK (its own retries off) -> usage accounting ->
cache. Retries are ours (tenacity): retryable errors back off with exponential jitter, or exactly
as long as the server's Retry-After / retry-after-ms / x-ratelimit-reset-* asked; a 429 pauses the
key in the limiter for every caller. After the last attempt the call raises `ChatFailure` (the
negotiation becomes an error, never a score); a fatal error raises `FatalProviderError`.

The client knows no provider by name: what differs between endpoints is data on their
`ProviderSpec`, and where calls go is the ``transport`` (`negoray.llm.factory.client_for` picks it).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx2
import openai
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from negoray.chat import ChatFailure, ChatParams, ChatReply, Message, estimate_tokens, messages_tokens
from negoray.llm.batch_journal import BatchJournal
from negoray.llm.batching import BatchOutcome, BatchTransport
from negoray.llm.adaptive_concurrency import Outcome
from negoray.llm.cache import cache_key
from negoray.llm.concurrency_gate import ConcurrencyGate, Permit
from negoray.llm.config import Endpoint
from negoray.llm.cost import Budget, UsageLedger
from negoray.llm.errors import FatalProviderError, Verdict, classify, says_not_loaded
from negoray.llm.limiter import InProcessLimiter, RateLimiter, RateLimits
from negoray.llm.prompt_cache import cached_prompt_tokens
from negoray.llm.protocols import Cache, Limiter
from negoray.llm.providers import Thinking, response_format_for
from negoray.llm.reasoning import reasoning_tokens, split_reasoning
from negoray.llm.redact import redact
from negoray.llm.tiers import BatchRetry, Tier

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


class _Retryable(Exception):
    """Internal: a failure tenacity should retry, with the server's requested wait if any."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(verdict.reason)
        self.verdict = verdict


@dataclass(frozen=True)
class _Answer:
    """What one successful request returned."""

    text: str
    reasoning: str
    finish_reason: str | None
    usage: dict[str, Any]
    latency_s: float
    tier: Tier = Tier.STANDARD
    concurrency_limit: int | None = None


@dataclass
class Health:
    """Consecutive retryable failures of an endpoint and until when it is cooled down."""

    consecutive_failures: int = 0
    down_until: float = 0.0


def load_outcome(err: Exception) -> Outcome:
    """What a failed request says about the endpoint's load: a 429 is RATE_LIMITED; a timeout, a lost
    connection, a 5xx or a model that is not loaded (LM Studio's 400/404) is OVERLOAD; anything else
    (a bad request, a malformed body) says nothing."""
    if isinstance(err, openai.RateLimitError):
        return Outcome.RATE_LIMITED
    if isinstance(err, openai.APIConnectionError):  # APITimeoutError is one
        return Outcome.OVERLOAD
    if isinstance(err, openai.APIStatusError):
        if err.status_code >= 500 or (err.status_code in (400, 404) and says_not_loaded(str(err))):
            return Outcome.OVERLOAD
    return Outcome.OTHER


def _schema_of(response_format: Any) -> dict | None:
    if not isinstance(response_format, dict):
        return None
    if "json_schema" in response_format:
        return response_format["json_schema"].get("schema")
    return response_format.get("schema")


class LLMClient:
    """A `ChatFn` for one endpoint. Share one per process and endpoint: it owns the connection pool
    (sized to the endpoint's concurrency) and bounds calls in flight to that concurrency. On an
    adaptive endpoint (`ProviderSpec.adaptive`) each request also holds a permit of the endpoint's
    cluster-wide limit (`ConcurrencyGate`, from a limiter that offers ``sync_concurrency``: the actor
    or `InProcessLimiter`), reports its latency and outcome to it, and records the limit it was sent
    under (`ChatReply.concurrency_limit`)."""

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        cache: Cache | None = None,
        limiter: Limiter | RateLimiter | None = None,
        ledger: UsageLedger | None = None,
        budget: Budget | None = None,
        run: str = "",
        transport: httpx2.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        backoff_s: float = 0.5,
        backoff_max_s: float = 30.0,
        endpoint_name: str | None = None,
        cache_identity: tuple[str, str] | None = None,
        batch_dir: str | None = None,
    ) -> None:
        self.endpoint = endpoint
        spec = endpoint.spec
        self.endpoint_name = endpoint_name or spec.name
        """What ``ChatReply.endpoint`` (the ``calls.endpoint`` column) says; its own limiter key with it."""
        self.cache, self.budget, self.run = cache, budget, run
        self.ledger = ledger if ledger is not None else UsageLedger()
        if limiter is None or isinstance(limiter, RateLimiter):
            limiter = InProcessLimiter(limiter if limiter is not None else RateLimiter(clock=clock))
        self.limiter: Limiter = limiter
        self.limit_key = f"{self.endpoint_name}:{spec.default_model}"
        self.offer = spec.tier_offer()
        f = self.offer.rate_factor if self.offer is not None else 1.0  # Groq flex: 10x the limits
        self.limits = RateLimits(*(None if v is None else v * f for v in (spec.rpm, spec.tpm, spec.rpd)))
        self._limiter_ready = False
        self._use_limiter = not self.limits.unlimited  # unlimited endpoints skip it until a 429 is seen
        self.health = Health()
        # the embedded server gets a new port each start: key its cache on the model, not the URL
        self._cache_endpoint = f"{spec.name}:{spec.default_model}" if spec.cache_by_model else endpoint.url
        self._cache_model = spec.default_model
        self._thinking_body = spec.thinking_body()
        """The reasoning switch's body fields: they change the answer, so they are part of the cache key."""
        self._key_extra = self._thinking_body
        if cache_identity is not None:  # a pool member: keyed on the pool's model, whichever member serves
            self._cache_endpoint, self._cache_model = cache_identity
            self._key_extra = {"thinking": Thinking(spec.thinking).value}  # the same for every member
        if (switch := spec.thinking_switch()) is not None and switch.off is None and spec.thinking == "off":
            log.info("%s: no documented way to switch reasoning off for %s (%s)", spec.name, spec.default_model, switch.note)
        self._in_flight: dict[str, asyncio.Future[ChatReply]] = {}
        self.trip_after: int | None = None
        """With failover: give up a call once this many consecutive retryable failures piled up."""
        self._sleep, self._clock = sleep, clock
        self._backoff = wait_exponential_jitter(multiplier=backoff_s, max=backoff_max_s, jitter=backoff_s)
        self._gate = asyncio.Semaphore(spec.max_concurrency)
        self.concurrency: ConcurrencyGate | None = (ConcurrencyGate(self.limiter, self.limit_key)
                                                      if spec.adaptive and hasattr(self.limiter, "sync_concurrency") else None)
        """The adaptive, cluster-wide limit's permits (None: a fixed ``max_concurrency`` per process)."""
        http = httpx2.AsyncClient(
            transport=transport,
            limits=httpx2.Limits(max_connections=spec.max_concurrency, max_keepalive_connections=spec.max_concurrency),
            timeout=endpoint.timeout_s,
        )
        self.sdk = openai.AsyncOpenAI(
            base_url=endpoint.url, api_key=endpoint.api_key, max_retries=0, timeout=endpoint.timeout_s, http_client=http,
        )
        self.batch: BatchTransport | None = None
        """Batch tier: the transport that turns this process's waiting calls into Batch API jobs."""
        if spec.tier is Tier.BATCH and self.offer is not None:
            self.batch = BatchTransport(self.sdk, self.offer, BatchJournal(batch_dir), gather_s=spec.batch_gather_s,
                                        min_requests=spec.batch_min_requests, sleep=sleep, clock=clock)

    async def aclose(self) -> None:
        await self.sdk.close()

    # -- the call ------------------------------------------------------------------------------

    async def __call__(self, messages: Sequence[Message], params: ChatParams) -> ChatReply:
        spec = self.endpoint.spec
        key = cache_key(self._cache_endpoint, self._cache_model, messages, params, extra_body=self._key_extra)
        if self.cache is not None and (hit := await self.cache.aget(key)) is not None:
            self.ledger.record(hit.provider or spec.name, self.run, hit.prompt_tokens, hit.completion_tokens, 0.0, True)
            return hit
        if (pending := self._in_flight.get(key)) is not None:  # the same call is on its way: share it
            reply = await asyncio.shield(pending)
            self.ledger.record(reply.provider, self.run, reply.prompt_tokens, reply.completion_tokens, 0.0, True)
            return dataclasses.replace(reply, cache_hit=True, latency_s=0.0, attempts=0)
        shared = self._in_flight[key] = asyncio.get_running_loop().create_future()
        try:
            reply = await self._call_uncached(key, messages, params)
        except asyncio.CancelledError:
            shared.cancel()
            raise
        except Exception as e:
            shared.set_exception(e)
            shared.exception()  # retrieved: waiters (if any) re-raise it themselves
            raise
        else:
            shared.set_result(reply)
        finally:
            del self._in_flight[key]
        return reply

    async def _call_uncached(self, key: str, messages: Sequence[Message], params: ChatParams) -> ChatReply:
        spec = self.endpoint.spec
        if self.budget is not None:
            self.budget.check(self.ledger)
        body = self._body(messages, params)
        reserved = messages_tokens(messages) + params.max_tokens
        attempts = 0
        try:
            async for attempt in AsyncRetrying(
                retry=retry_if_exception(lambda e: isinstance(e, _Retryable)),
                wait=self._wait,
                stop=stop_after_attempt(self.endpoint.max_attempts),
                sleep=self._sleep,
                reraise=True,
            ):
                with attempt:
                    attempts += 1
                    answer = await self._attempt(body, reserved, key, attempts)
        except _Retryable as e:
            raise ChatFailure(f"{spec.name}: gave up after {attempts} attempt(s); last error: {e.verdict.reason}") from None
        usage = answer.usage
        prompt_tokens = usage.get("prompt_tokens") or messages_tokens(messages)
        cached = min(prompt_tokens, cached_prompt_tokens(usage))
        thought = reasoning_tokens(usage)
        completion_tokens = usage.get("completion_tokens") or estimate_tokens(answer.reasoning + answer.text)
        if not spec.reasoning_in_completion:  # always count what is billed as output
            completion_tokens += thought
        if not self.limits.unlimited and answer.tier is not Tier.BATCH:  # batch calls never took the limiter
            await self.limiter.settle(self.limit_key, reserved, prompt_tokens + completion_tokens)
        reply = ChatReply(
            text=answer.text, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
            latency_s=answer.latency_s, attempts=attempts, provider=spec.name, model=spec.default_model,
            finish_reason=answer.finish_reason, reasoning=answer.reasoning, reasoning_tokens=thought,
            endpoint=self.endpoint_name, cached_prompt_tokens=cached, tier=answer.tier.value,
            concurrency_limit=answer.concurrency_limit,
        )
        usd = spec.prices(answer.tier).cost(prompt_tokens, completion_tokens, cached)
        self.ledger.record(spec.name, self.run, prompt_tokens, completion_tokens, usd, False)
        if self.cache is not None:
            stored = await self.cache.aput(key, reply)
            if stored is not None and stored != reply:
                # another worker stored this call first: answer with its reply, as a resume will
                reply = dataclasses.replace(stored, latency_s=reply.latency_s, attempts=reply.attempts, cache_hit=False,
                                            concurrency_limit=reply.concurrency_limit, tier=reply.tier)
        return reply

    def _body(self, messages: Sequence[Message], params: ChatParams) -> dict[str, Any]:
        spec = self.endpoint.spec
        body: dict[str, Any] = {
            "model": spec.default_model,
            "messages": [{"role": m["role"], "content": m["content"]} for m in messages],
            "temperature": params.temperature,
            "max_tokens": params.max_tokens,
        }
        if params.seed is not None:
            body["seed"] = params.seed
        if spec.accepts_replicate:
            body["replicate"] = params.replicate
        body.update(self._thinking_body)
        if self.offer is not None and self.offer.service_tier is not None:
            body["service_tier"] = self.offer.service_tier  # not in the cache key: a tier changes the price, not the answer
        schema = _schema_of(params.response_format)
        if schema is not None and (fmt := response_format_for(spec.json_mode, schema)) is not None:
            body["response_format"] = fmt
        return body

    async def _ensure_limiter(self) -> None:
        if not self._limiter_ready:
            await self.limiter.configure(self.limit_key, self.limits)
            self._limiter_ready = True

    async def _wait_for_limiter(self, reserved: int) -> None:
        await self._ensure_limiter()
        wait = await self.limiter.acquire(self.limit_key, 1, reserved)
        while wait > 0:  # a 429 that paused the key meanwhile puts this call behind the pause, at the pace
            await self._sleep(wait)
            wait = await self.limiter.resume(self.limit_key, reserved)

    async def _attempt(self, body: dict[str, Any], reserved: int, key: str = "", attempt: int = 1) -> _Answer:
        """One try: wait for the limiter and any 429 pause, then one request; the answer (reasoning
        split off), finish reason, usage and seconds from sending the request to its answer. On the
        batch tier the request goes into the next batch instead (its retries too, unless
        ``batch_retry = "standard"``); a call the batch hands back goes out on the standard tier."""
        spec = self.endpoint.spec
        if self.batch is not None and (attempt == 1 or spec.batch_retry is BatchRetry.BATCH):
            answer = await self._batch_attempt(key, body)
            if answer is not None:
                return answer
        async with self._permit() as permit:  # before the rate limiter: its reserved start is kept to the dot
            if self._use_limiter:
                await self._wait_for_limiter(reserved)
            async with self._gate:
                sent = self._clock()
                try:
                    raw = await self.sdk.post("/chat/completions", body=body, cast_to=httpx2.Response)
                    data = raw.json()
                    choice = data["choices"][0]
                    text, reasoning = split_reasoning(choice["message"])
                except (openai.APIError, ValueError, KeyError, IndexError, TypeError, AttributeError) as err:
                    failure = err
                else:
                    failure = None
                latency = self._clock() - sent
            if permit is not None:
                permit.done(latency, Outcome.OK if failure is None else load_outcome(failure))
        if failure is not None:
            await self._failed(failure)
        self.health.consecutive_failures = 0
        finish = choice.get("finish_reason")
        return _Answer(text, reasoning, finish if isinstance(finish, str) else None, data.get("usage") or {},
                       latency, Tier.STANDARD if self.batch is not None else spec.tier,
                       permit.limit if permit is not None else None)

    async def _batch_attempt(self, key: str, body: dict[str, Any]) -> _Answer | None:
        """The call's result from a batch; None when the batch hands it back (send it standard)."""
        assert self.batch is not None
        sent = self._clock()
        try:
            outcome: BatchOutcome | None = await self.batch.send(key, body)
        except openai.APIError as err:
            await self._failed(err)
            raise  # unreachable: _failed raises
        if outcome is None:
            return None
        spec = self.endpoint.spec
        if outcome.status_code == 200 and outcome.body is not None:
            try:
                choice = outcome.body["choices"][0]
                text, reasoning = split_reasoning(choice["message"])
            except (KeyError, IndexError, TypeError, AttributeError) as err:
                await self._failed(ValueError(f"batch {outcome.batch_id}: {type(err).__name__}: {err}"))
            finish = choice.get("finish_reason")
            self.health.consecutive_failures = 0
            return _Answer(text, reasoning, finish if isinstance(finish, str) else None, outcome.body.get("usage") or {},
                           self._clock() - sent, Tier.BATCH)
        status = outcome.status_code
        reason = redact(f"{spec.name}: batch {outcome.batch_id}: request failed"
                        f"{f' (HTTP {status})' if status else ''}: {outcome.error}")
        if status and status not in (408, 409, 429) and status < 500:
            raise FatalProviderError(reason, 2 if status in (401, 403, 404) else 1)
        self.health.consecutive_failures += 1
        log.info("retryable batch failure: %s", reason)  # expired / failed / 5xx: never scored, tried again
        raise _Retryable(Verdict(True, None, reason))

    def _permit(self) -> contextlib.AbstractAsyncContextManager[Permit | None]:
        """A permit of the adaptive limit (None where the concurrency is fixed)."""
        return self.concurrency.permit() if self.concurrency is not None else contextlib.nullcontext(None)

    async def _failed(self, err: Exception) -> None:
        spec = self.endpoint.spec
        if isinstance(err, openai.APIError):
            verdict = classify(err, provider=spec.name, local=spec.local, key_env=spec.api_key_env,
                               key_hint=self.endpoint.key_hint)
        else:
            reason = redact(f"{spec.name}: malformed response ({type(err).__name__}: {err})")
            verdict = Verdict(True, None, reason)
        if not verdict.retryable:
            raise FatalProviderError(verdict.reason, verdict.exit_code) from None
        flex_unavailable = spec.tier is Tier.FLEX and "resource unavailable" in str(err).lower()
        if isinstance(err, openai.RateLimitError) and not flex_unavailable:
            # OpenAI flex's 429 "Resource Unavailable" is capacity, not our rate: back off, do not pause the key
            # (https://developers.openai.com/api/docs/guides/flex-processing)
            await self._ensure_limiter()
            self._use_limiter = True
            await self.limiter.pause(self.limit_key, verdict.retry_after_s if verdict.retry_after_s is not None else 1.0)
        self.health.consecutive_failures += 1
        log.info("retryable failure: %s", verdict.reason)
        if self.trip_after is not None and self.health.consecutive_failures >= self.trip_after:
            raise ChatFailure(f"{verdict.reason} ({self.health.consecutive_failures} consecutive failures)")
        raise _Retryable(verdict)

    def _wait(self, state: RetryCallState) -> float:
        err = state.outcome.exception() if state.outcome else None
        if isinstance(err, _Retryable) and err.verdict.retry_after_s is not None:
            return err.verdict.retry_after_s
        return self._backoff(state)
