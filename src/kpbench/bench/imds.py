"""The EC2 instance type from the instance metadata service (IMDSv2).

PUT /latest/api/token for a session token, then GET
/latest/meta-data/instance-type with it. Off EC2 nothing answers at
169.254.169.254; we give up silently after the timeout. Tests point
KPBENCH_IMDS_URL at a fake server on 127.0.0.1 (or set it to "off").

Whatever answers is not trusted: both requests together get ``timeout_s`` in all (a server that
trickles a byte at a time cannot hold bench back), an answer over MAX_ANSWER_BYTES is dropped
unread, the token must look like one (it goes into the next request's header) and the instance
type must match ``kpbench.inputs.INSTANCE_TYPE`` (it becomes part of the Record's file name).
Anything else means "not on EC2": None, silently.
"""

from __future__ import annotations

import os
import re
import socket
import time
import urllib.parse

from kpbench.inputs import is_instance_type

IMDS_URL = "http://169.254.169.254"
IMDS_URL_ENV = "KPBENCH_IMDS_URL"
TIMEOUT_S = 0.3
TOKEN_TTL_S = 60
MAX_ANSWER_BYTES = 4096  # headers and body: a token is ~56 characters, an instance type ~20
_TOKEN = re.compile(r"[A-Za-z0-9_=+/.-]{1,1024}")


def imds_base_url() -> str | None:
    """The metadata service to ask; None when detection is turned off (KPBENCH_IMDS_URL=off)."""
    url = os.environ.get(IMDS_URL_ENV, IMDS_URL).strip()
    return None if url.lower() in ("", "off", "none", "0") else url.rstrip("/")


def detect_instance_type(base_url: str | None = None, *, timeout_s: float = TIMEOUT_S) -> str | None:
    """The instance type (e.g. "g5.xlarge"), or None when no metadata service answers well in time."""
    base = base_url.rstrip("/") if base_url else imds_base_url()
    if base is None:
        return None
    deadline = time.monotonic() + timeout_s
    try:
        url = urllib.parse.urlsplit(base)
        if url.scheme != "http" or not url.hostname:
            return None
        where = (url.hostname, url.port or 80)
        token = _ask(where, "PUT", "/latest/api/token", f"X-aws-ec2-metadata-token-ttl-seconds: {TOKEN_TTL_S}", deadline)
        if token is None or not _TOKEN.fullmatch(token):
            return None
        value = _ask(where, "GET", "/latest/meta-data/instance-type", f"X-aws-ec2-metadata-token: {token}", deadline)
    except (OSError, ValueError, UnicodeError):
        return None  # not on EC2, IMDS disabled, or hop limit reached: silent by design
    return value if is_instance_type(value) else None


def _ask(where: tuple[str, int], method: str, path: str, header: str, deadline: float) -> str | None:
    """The body of a 200 answer as text, read before ``deadline`` and within MAX_ANSWER_BYTES; else None."""
    request = (f"{method} {path} HTTP/1.0\r\nHost: {where[0]}\r\n{header}\r\nContent-Length: 0\r\n"
               "Connection: close\r\n\r\n").encode("ascii")
    with socket.create_connection(where, timeout=_left(deadline)) as sock:
        sock.sendall(request)
        answer = b""
        while not _complete(answer):
            sock.settimeout(_left(deadline))
            chunk = sock.recv(MAX_ANSWER_BYTES + 1 - len(answer))
            if not chunk:
                break
            answer += chunk
            if len(answer) > MAX_ANSWER_BYTES:
                return None
    head, sep, body = answer.partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0].split()
    if not sep or len(status) < 2 or status[1] != b"200":
        return None
    length = _content_length(head)
    if length is not None and len(body) != length:
        return None  # cut short, or more than it announced
    return body.decode("ascii").strip()


def _complete(answer: bytes) -> bool:
    head, sep, body = answer.partition(b"\r\n\r\n")
    length = _content_length(head) if sep else None
    return length is not None and len(body) >= length


def _content_length(head: bytes) -> int | None:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())  # ValueError for a bad one: not the metadata service
    return None


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the metadata service did not answer in time")
    return left
