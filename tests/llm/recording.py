"""A transport that records what a client and a real server said (the `local` and `vllm` tests)."""

import json

import httpx2


class Recording(httpx2.AsyncHTTPTransport):
    """Keeps every request body and response body the client exchanged with the server."""

    def __init__(self):
        super().__init__()
        self.exchanges: list[tuple[dict, dict]] = []

    async def handle_async_request(self, request):
        response = await super().handle_async_request(request)
        body = await response.aread()
        self.exchanges.append((json.loads(request.content), json.loads(body)))
        return response
