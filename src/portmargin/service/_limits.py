"""Request body size limit (ASGI middleware): larger bodies get 413 before any route runs."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BodyLimit"]


class BodyLimit:
    """Refuse request bodies longer than ``max_bytes`` with 413.

    A declared ``Content-Length`` above the limit is refused at once; a body sent without
    one (chunked) is counted as it arrives and refused when it passes the limit.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared < 0 or declared > self.max_bytes:
                    await self._refuse(send, declared)
                    return
        seen = 0
        refused = False

        async def counted() -> Message:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    # answer 413 now; the app sees a client that went away
                    refused = True
                    await self._refuse(send, seen)
                    return {"type": "http.disconnect"}
            return message

        async def unless_refused(message: Message) -> None:
            if not refused:
                await send(message)

        try:
            await self.app(scope, counted, unless_refused)
        except Exception:
            if not refused:
                raise
            # the app failed on the body it was refused: the 413 has been sent

    async def _refuse(self, send: Send, size: int) -> None:
        if size < 0:
            msg = "Content-Length is not a valid number of bytes"
            status = 400
        else:
            msg = f"request body of more than {self.max_bytes} bytes; send at most that much"
            status = 413
        body = json.dumps({"detail": [{"loc": ["header", "content-length"], "msg": msg}]})
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body.encode()})
