"""Machine fingerprint: EC2 metadata (IMDSv2) against a fake server on 127.0.0.1,
what bench records of the instance, and the FLOPs peak table. No traffic leaves the loopback."""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from kpbench.bench import fingerprint
from kpbench.bench.flops import flops_summary, peak_flops
from kpbench.bench.imds import IMDS_URL_ENV, detect_instance_type

TOKEN = "fake-token-123"


class FakeImds(BaseHTTPRequestHandler):
    """IMDSv2: PUT a token (TTL header required), then GET with the token header."""

    seen: list = []

    def do_PUT(self):
        self.seen.append(("PUT", self.path, self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")))
        if self.path != "/latest/api/token" or not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            return self._send(400, "")
        self._send(200, TOKEN)

    def do_GET(self):
        self.seen.append(("GET", self.path, self.headers.get("X-aws-ec2-metadata-token")))
        if self.headers.get("X-aws-ec2-metadata-token") != TOKEN:
            return self._send(401, "")
        if self.path == "/latest/meta-data/instance-type":
            return self._send(200, "g5.xlarge")
        self._send(404, "")

    def _send(self, code, body):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def imds_server():
    FakeImds.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeImds)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def no_real_imds(monkeypatch):
    monkeypatch.setenv(IMDS_URL_ENV, "off")


def test_imdsv2_token_then_instance_type(imds_server, monkeypatch):
    monkeypatch.setenv(IMDS_URL_ENV, imds_server)
    assert detect_instance_type() == "g5.xlarge"
    assert [s[:2] for s in FakeImds.seen] == [("PUT", "/latest/api/token"), ("GET", "/latest/meta-data/instance-type")]
    assert FakeImds.seen[1][2] == TOKEN


def test_absent_metadata_service_is_silent_and_quick():
    port = socket.socket()
    port.bind(("127.0.0.1", 0))
    free = port.getsockname()[1]
    port.close()  # nothing listens there now
    start = time.perf_counter()
    assert detect_instance_type(f"http://127.0.0.1:{free}") is None
    assert time.perf_counter() - start < 1.0


def test_silent_metadata_service_times_out_within_the_timeout():
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(1)  # accepts the connection, never answers
    try:
        start = time.perf_counter()
        assert detect_instance_type(f"http://127.0.0.1:{hole.getsockname()[1]}", timeout_s=0.3) is None
        assert time.perf_counter() - start < 1.0
    finally:
        hole.close()


def test_detection_is_off_when_the_env_says_off():
    assert detect_instance_type() is None


def test_an_instance_type_flag_is_recorded_without_a_catalog_price():
    # pricing is cost's business, at compare time: bench only records what it was told
    got = fingerprint.resolve_instance("g4dn.xlarge", None)
    assert got == {"instance_type": "g4dn.xlarge", "instance_type_source": "flag",
                   "price_per_hour": None, "price_source": None}


def test_unknown_instance_type_with_price_is_accepted():
    got = fingerprint.resolve_instance("zz9.plural", 1.25)
    assert got["price_per_hour"] == 1.25 and got["instance_type_source"] == "flag"


def test_detected_instance_type_is_marked_as_from_imds(imds_server, monkeypatch):
    monkeypatch.setenv(IMDS_URL_ENV, imds_server)
    got = fingerprint.resolve_instance(None, 1.0)
    assert got == {"instance_type": "g5.xlarge", "instance_type_source": "imds", "price_per_hour": 1.0,
                   "price_source": "flag"}


def test_no_instance_anywhere_gives_nulls():
    assert fingerprint.resolve_instance(None, None) == {
        "instance_type": None, "instance_type_source": None, "price_per_hour": None, "price_source": None}


@pytest.mark.parametrize(
    "gpu, precision, tf32, tflops",
    [
        ("NVIDIA H100 80GB HBM3", "bf16", False, 989.4),
        ("NVIDIA H100 PCIe", "fp32", False, 51),
        ("NVIDIA A100-SXM4-40GB", "fp32", True, 156),
        ("NVIDIA A10G", "bf16", False, 125),
        ("NVIDIA L4", "fp32", False, 30.3),
        ("Tesla T4", "fp16", False, 65),
        ("Tesla V100-SXM2-16GB", "fp32", False, 15.7),
        ("Tesla K80", "bf16", False, 4.37),
        ("NVIDIA H200", "fp32", False, 67),
    ],
)
def test_peak_table_picks_the_datasheet_figure(gpu, precision, tf32, tflops):
    peak, note = peak_flops(gpu, precision, tf32=tf32)
    assert peak == pytest.approx(tflops * 1e12) and gpu in note


def test_l40s_is_not_mistaken_for_an_l4():
    assert peak_flops("NVIDIA L40S", "fp32")[0] is None


def test_cpu_claims_no_peak_and_no_mfu():
    out = flops_summary(2e8, 400.0, None, "fp32")
    assert out["achieved_flops_per_s"] == pytest.approx(8e10)
    assert out["peak_flops_per_s"] is None and out["mfu"] is None and "no dense peak" in out["peak_note"]


def test_mfu_is_achieved_over_peak():
    out = flops_summary(1e9, 1000.0, "NVIDIA A100-SXM4-80GB", "bf16")
    assert out["mfu"] == pytest.approx(1e12 / 312e12)


def test_a_detected_instance_type_is_recorded_unpriced(imds_server, monkeypatch):
    monkeypatch.setenv(IMDS_URL_ENV, imds_server)  # answers g5.xlarge
    got = fingerprint.resolve_instance(None, None)
    assert got == {"instance_type": "g5.xlarge", "instance_type_source": "imds", "price_per_hour": None,
                   "price_source": None}
