"""Integration: the real faces in ../shared/datasets/faces15 (skipped when absent)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from helpers import run_kpbench
from kpbench.data import load_faces
from kpbench.data.kaggle import read_lookup

pytestmark = pytest.mark.integration


def test_training_zip_has_3066_rows_947_complete(faces15):
    faces = load_faces(faces15 / "training.zip", progress=False)
    assert len(faces) == 3066 and int(faces.complete_mask().sum()) == 947
    assert faces.images.shape == (3066, 96, 96) and faces.meta["load"] == "parse"
    # the subject's left eye is on the image's right
    assert np.nanmean(faces.keypoints[:, 0, 0]) > np.nanmean(faces.keypoints[:, 1, 0])
    again = load_faces(faces15 / "training.zip", progress=False)
    assert again.meta["load"] == "cache" and np.array_equal(again.images, faces.images)


def test_cli_inspect_json_on_faces15(faces15):
    r = run_kpbench("data", "inspect", str(faces15 / "training.zip"), "--json")
    assert r.code == 0
    d = json.loads(r.out)
    assert (d["rows"], d["complete_rows"]) == (3066, 947)


def test_test_zip_and_lookup_table_agree(faces15):
    test = load_faces(faces15, split="test", progress=False)
    assert len(test) == 915 and test.keypoints is None
    lookup = read_lookup(faces15 / "IdLookupTable.csv", test)
    assert len(lookup) == 13634 and lookup.image_index.max() < 915
