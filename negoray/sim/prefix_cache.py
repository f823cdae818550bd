"""`sim-serve --prefix-cache`: a prefix cache that counts cached prompt tokens the way vLLM's
automatic prefix caching does (whole blocks of 16 tokens, a block reusable only when every block
before it matched; https://docs.vllm.ai/en/latest/design/prefix_caching.html) and reports them as
OpenAI does, in ``usage.prompt_tokens_details.cached_tokens``.

The sim counts 4 characters a token, so a block is 64 characters of the rendered prompt.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Sequence

from negoray.chat import Message

BLOCK_TOKENS = 16
CHARS_PER_TOKEN = 4


class PrefixCache:
    """Block hashes seen so far, least recently used first; ``capacity`` blocks at most."""

    def __init__(self, capacity: int = 1_000_000) -> None:
        self.capacity = capacity
        self._blocks: OrderedDict[bytes, None] = OrderedDict()

    def lookup_and_insert(self, messages: Sequence[Message], prompt_tokens: int) -> int:
        """Cached tokens of this prompt (at most ``prompt_tokens``); its blocks are then cached."""
        text = "".join(f"<|{m.get('role', '')}|>{m.get('content', '')}" for m in messages)
        size = BLOCK_TOKENS * CHARS_PER_TOKEN
        chain = hashlib.sha256()
        matched, still_matching = 0, True
        for start in range(0, len(text) - size + 1, size):
            chain.update(text[start:start + size].encode())
            block = chain.copy().digest()
            if still_matching and block in self._blocks:
                matched += 1
                self._blocks.move_to_end(block)
                continue
            still_matching = False
            self._blocks[block] = None
            if len(self._blocks) > self.capacity:
                self._blocks.popitem(last=False)
        return min(prompt_tokens, matched * BLOCK_TOKENS)
