"""Client side of the gate API, for ``riskguard check --order … --via URL`` (no ccxt import: it is fast)."""

from __future__ import annotations

import json
import socket
from typing import Any
from urllib.parse import urlsplit

from riskguard.errors import DataUnavailable, InputError


def ask_gate(via: str, order: str, timeout_s: float = 5.0) -> dict[str, Any]:
    """POST the order to a daemon's ``/v1/gate``; a daemon that cannot be reached is an error (exit 3)."""
    body = json.dumps({"order": order}).encode()
    if via.startswith("unix:"):
        host, port, path = "localhost", None, via[len("unix:"):]
    else:
        parts = urlsplit(via)
        if parts.scheme != "http" or not parts.hostname:
            raise InputError(f"--via must be http://127.0.0.1:PORT or unix:/path, got {via!r}", "--via")
        host, port, path = parts.hostname, parts.port or 80, None
    request = (f"POST /v1/gate HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
    try:
        if path is not None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout_s)
            sock.connect(path)
        else:
            sock = socket.create_connection((host, port), timeout=timeout_s)
        with sock:
            sock.sendall(request)
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
    except OSError as exc:
        raise DataUnavailable(f"the daemon's gate API at {via} cannot be reached: {exc}") from None
    raw = b"".join(chunks)
    head, _, payload = raw.partition(b"\r\n\r\n")
    if b"chunked" in head.lower():
        payload = _unchunk(payload)
    try:
        document = json.loads(payload)
    except json.JSONDecodeError:
        raise DataUnavailable(f"the daemon's gate API at {via} answered something that is not JSON") from None
    if not isinstance(document, dict):
        raise DataUnavailable(f"the daemon's gate API at {via} answered a non-object")
    return document


def _unchunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out += rest[:size]
        data = rest[size + 2:]
    return out
