"""Files read whole are regular files of bounded size: /dev/zero, a FIFO or a huge file is one line, exit 2.

Records (compare, report, cloud plan --record), catalogs (--catalog), plans and launch state are read
through kpbench.inputs: never a device that never ends, never a FIFO that never answers, never more
than the limit, and the refusal names the file.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fakes import fake_wheel  # noqa: E402
from helpers import run_kpbench  # noqa: E402
from kpbench import inputs  # noqa: E402
from kpbench.errors import KpbenchError  # noqa: E402

RECORD = Path(__file__).parents[1] / "fixtures" / "records" / "g4dn_xlarge.json"


def special(tmp_path: Path, kind: str) -> Path:
    """A path that is no regular file: /dev/zero (endless), a FIFO (no writer: waits forever), a directory."""
    path = tmp_path / f"{kind}.json"
    if kind == "zero":
        path.symlink_to("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "dir":
        path.mkdir()
    else:  # a file over the limit, sparse so that it costs no disk
        with open(path, "wb") as f:
            f.truncate(inputs.JSON_LIMIT_BYTES + 1)
    return path


KINDS = ["zero", "fifo", "dir", "huge"]


def refused_in_one_line(argv: list[str], path: Path) -> None:
    code, _, err = run_kpbench(*argv)
    assert code == 2, err
    assert err.startswith("kpbench: error: ") and err.count("\n") == 1 and path.name in err, err


@pytest.mark.parametrize("kind", KINDS)
def test_compare_refuses_a_record_that_is_not_a_regular_file_of_bounded_size(tmp_path, kind):
    path = special(tmp_path, kind)
    refused_in_one_line(["compare", str(RECORD), str(path)], path)


@pytest.mark.parametrize("kind", KINDS)
def test_report_refuses_a_record_that_is_not_a_regular_file_of_bounded_size(tmp_path, kind):
    if kind == "dir":
        pytest.skip("a directory is a folder of Records for report")
    path = special(tmp_path, kind)
    refused_in_one_line(["report", str(RECORD), str(path), "--out", str(tmp_path / "report")], path)
    assert not (tmp_path / "report").exists()


def test_report_skips_a_fifo_inside_a_records_directory(tmp_path):
    folder = tmp_path / "records"
    folder.mkdir()
    (folder / "a.json").write_bytes(RECORD.read_bytes())
    os.mkfifo(folder / "b.json")
    code, _, err = run_kpbench(*["report", str(folder), "--out", str(tmp_path / "report")])
    assert code == 0 and "b.json" in err


@pytest.mark.parametrize("kind", KINDS)
def test_cloud_plan_refuses_such_a_record(tmp_path, kind):
    path = special(tmp_path, kind)
    refused_in_one_line(["cloud", "plan", "--instances", "g4dn.xlarge", "--record", str(path),
                                 "--wheel", str(fake_wheel(tmp_path)), "--out", str(tmp_path / "plan")], path)
    assert not (tmp_path / "plan").exists()


@pytest.mark.parametrize("kind", KINDS)
def test_a_catalog_that_is_not_a_regular_file_of_bounded_size_is_refused(tmp_path, kind):
    path = special(tmp_path, kind)
    refused_in_one_line(["catalog", "--catalog", str(path)], path)


def test_read_bytes_reads_a_regular_file_up_to_its_limit(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(b"12345")
    assert inputs.read_bytes(path, what="thing", limit=5) == b"12345"
    with pytest.raises(KpbenchError, match="more than 4 bytes"):
        inputs.read_bytes(path, what="thing", limit=4)
    with pytest.raises(KpbenchError, match="no such file"):
        inputs.read_bytes(tmp_path / "nope", what="thing")


@pytest.mark.parametrize("reader", ["submission", "faces"])
def test_kaggle_readers_refuse_a_fifo_rather_than_wait(tmp_path, reader):
    from kpbench.data import load_faces
    from kpbench.data.kaggle import read_submission

    path = tmp_path / "training.csv"
    os.mkfifo(path)
    with pytest.raises(KpbenchError):
        read_submission(path) if reader == "submission" else load_faces(path, cache=False, progress=False)
