"""Records come home on marker lines in the job's log, whatever prefix SkyPilot puts before them."""

from __future__ import annotations

import io
import json

from kpbench.cloud.transfer import decode_log, emit, encode_file


def test_a_file_survives_the_trip_through_prefixed_log_lines():
    data = json.dumps({"schema": "kpbench.record/1", "values": list(range(2000))}).encode()
    lines = ["(setup pid=1) Installing torch…", "(task, pid=4242) KPBENCH-JOB-START 1764620000.250"]
    lines += [f"(worker0, rank=0, pid=7, ip=10.0.0.1) {line}" for line in encode_file("r.json", data)]
    lines += ["(task, pid=4242) done"]
    decoded = decode_log(lines)
    assert decoded.files == {"r.json": data} and decoded.problems == []
    assert decoded.job_start_s == 1764620000.25 and decoded.setup_start_s is None


def test_marker_lines_are_short():
    assert max(len(line) for line in encode_file("r.json", bytes(range(256)) * 200)) < 120


def test_a_corrupted_or_cut_log_is_reported_not_trusted():
    lines = encode_file("a.json", b'{"a": 1}')
    bad = [lines[0].replace(lines[0].split()[-1], "0" * 64)] + lines[1:]
    decoded = decode_log(bad)
    assert decoded.files == {} and "checksum mismatch" in decoded.problems[0]
    decoded = decode_log(encode_file("b.json", b"{}" * 500)[:-2])
    assert decoded.files == {} and "log ends inside it" in decoded.problems[0]


def test_emit_prints_every_json_in_a_directory(tmp_path):
    (tmp_path / "one.json").write_text('{"x": 1}')
    (tmp_path / "two.json").write_text('{"x": 2}')
    (tmp_path / "notes.txt").write_text("ignored")
    buf = io.StringIO()
    assert emit([tmp_path], buf) == 2
    assert sorted(decode_log(buf.getvalue().splitlines()).files) == ["one.json", "two.json"]


