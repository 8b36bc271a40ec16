"""Where `kpbench demo` writes: an earlier demo's parts are replaced, other people's files are not."""

from __future__ import annotations

from pathlib import Path

import pytest

from kpbench.errors import KpbenchError


def test_a_second_demo_replaces_the_first_ones_parts(tmp_path: Path):
    from kpbench.demo import DEMO_PARTS, prepare_out_dir, record_written

    out = tmp_path / "demo"
    assert prepare_out_dir(out) is False  # a new directory: nothing to replace
    for part in DEMO_PARTS:
        (out / part).mkdir()
        (out / part / "old").write_text("from the first demo")
    record_written(out)  # as the demo does after each step: these are its own files
    assert prepare_out_dir(out) is True
    assert not any((out / part).exists() for part in DEMO_PARTS)


def test_a_directory_of_other_files_is_refused_unless_forced(tmp_path: Path):
    from kpbench.demo import prepare_out_dir

    (tmp_path / "mine.txt").write_text("mine")
    with pytest.raises(KpbenchError, match="not a kpbench demo's.*--force"):
        prepare_out_dir(tmp_path)
    assert prepare_out_dir(tmp_path, force=True) is False
    assert (tmp_path / "mine.txt").read_text() == "mine"
