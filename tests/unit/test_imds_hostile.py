"""A metadata server that misbehaves cannot hold bench back, fill its memory, or name its Record.

Fake servers on 127.0.0.1 that trickle, flood, or answer values that are no instance type. The lookup
has one deadline for both requests, reads a bounded answer, and keeps only a value matching the
instance-type pattern; anything else is None ("not on EC2"), silently, as promised.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

import pytest

from kpbench.bench import fingerprint
from kpbench.bench.imds import IMDS_URL_ENV, detect_instance_type
from kpbench.bench.runner import record_stem


def serve(handle: Callable[[socket.socket, int], None]):
    """A loopback server calling ``handle(conn, n)`` for its n-th connection; yields its URL."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.1)
    done = threading.Event()

    def loop():
        n = 0
        while not done.is_set():
            try:
                conn, _ = server.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=_guarded, args=(handle, conn, n), daemon=True).start()
            n += 1

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{server.getsockname()[1]}", lambda: (done.set(), thread.join(), server.close())


def _guarded(handle, conn, n):
    try:
        with conn:
            conn.recv(65536)
            handle(conn, n)
    except OSError:
        pass  # the client gave up: that is the point


def answer(body: bytes, extra: bytes = b"") -> bytes:
    return b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), extra, body)


def token_then(value: bytes) -> Callable[[socket.socket, int], None]:
    def handle(conn, n):
        conn.sendall(answer(b"good-token" if n == 0 else value))
    return handle


@pytest.fixture
def server():
    stops = []

    def start(handle):
        url, stop = serve(handle)
        stops.append(stop)
        return url

    yield start
    for stop in stops:
        stop()


def timed(url: str) -> tuple[str | None, float]:
    start = time.perf_counter()
    value = detect_instance_type(url, timeout_s=0.3)
    return value, time.perf_counter() - start


def test_a_server_that_trickles_one_byte_at_a_time_is_given_up_at_the_deadline(server):
    def trickle(conn, n):
        for byte in answer(b"x" * 10_000):
            conn.sendall(bytes([byte]))
            time.sleep(0.02)  # each byte well inside a per-read timeout: only a total deadline stops it

    value, took = timed(server(trickle))
    assert value is None and took < 1.0


def test_a_server_that_trickles_the_second_answer_is_given_up_at_the_same_deadline(server):
    def slow_second(conn, n):
        if n == 0:
            conn.sendall(answer(b"good-token"))
            return
        for byte in answer(b"g5.xlarge"):
            conn.sendall(bytes([byte]))
            time.sleep(0.05)

    value, took = timed(server(slow_second))
    assert value is None and took < 1.0


def test_a_huge_answer_is_dropped_without_reading_it_whole(server):
    def flood(conn, n):
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % (300 << 20))
        chunk = b"g" * (1 << 20)
        for _ in range(300):
            conn.sendall(chunk)

    value, took = timed(server(flood))
    assert value is None and took < 1.0


@pytest.mark.parametrize("value", [b"g" * 1024, b"../../PWNED", b"g5.xlarge\r\nX-Evil: 1", b"a b", b"", b"\x1b]0;t\x07",
                                   b"g5.xlarge\xff"])
def test_an_answer_that_is_no_instance_type_is_ignored(server, value):
    assert detect_instance_type(server(token_then(value)), timeout_s=0.3) is None


def test_a_token_that_would_add_a_header_is_not_sent_on(server):
    seen = []

    def handle(conn, n):
        seen.append(n)
        conn.sendall(answer(b"tok\r\nX-aws-ec2-metadata-token: other" if n == 0 else b"g5.xlarge"))

    assert detect_instance_type(server(handle), timeout_s=0.3) is None
    assert seen == [0]


def test_an_answer_shorter_than_announced_is_ignored(server):
    def short(conn, n):
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 50\r\n\r\n" + (b"good-token" if n == 0 else b"g5.xlarge"))

    assert detect_instance_type(server(short), timeout_s=0.3) is None


def test_a_well_behaved_server_still_answers(server):
    assert detect_instance_type(server(token_then(b"g5.xlarge\n")), timeout_s=0.3) == "g5.xlarge"


def test_a_long_answer_never_reaches_the_records_name(server, monkeypatch):
    monkeypatch.setenv(IMDS_URL_ENV, server(token_then(b"g" * 1024)))
    machine = fingerprint.resolve_instance(None, None)
    assert machine["instance_type"] is None and machine["instance_type_source"] is None
    assert len(record_stem(machine, "bncnn", 0.0)) < 120
