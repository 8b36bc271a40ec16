"""Models by name and their summaries."""

from __future__ import annotations

import pytest
import torch

from kpbench.errors import KpbenchError
from kpbench.models import DEFAULT_MODEL, MODEL_NAMES, build_model, summarize


def _seed_macs() -> int:
    conv = 94 * 94 * 32 * 1 * 9 + 46 * 46 * 64 * 32 * 4 + 22 * 22 * 128 * 64 * 4
    dense = 128 * 11 * 11 * 500 + 500 * 500 + 500 * 30
    return conv + dense


def test_seed_network_has_the_keras_layers_and_parameter_count():
    s = summarize(build_model("seed"), "seed")
    assert s.params == 8_051_502  # Keras' model.summary() of the classic network
    shapes = [tuple(layer["output_shape"]) for layer in s.layers if layer["type"] in ("Conv2d", "MaxPool2d", "Linear")]
    assert shapes == [(32, 94, 94), (32, 47, 47), (64, 46, 46), (64, 23, 23), (128, 22, 22), (128, 11, 11), (500,), (500,), (30,)]


def test_seed_network_flops_are_two_per_multiply_add():
    s = summarize(build_model("seed"), "seed")
    assert s.forward_flops_per_image == 2 * _seed_macs()
    # backward: weight grads for every layer, input grads for all but the first conv
    assert s.train_flops_per_image == 3 * 2 * _seed_macs() - 2 * 94 * 94 * 32 * 9


def test_summary_dict_and_markdown_name_every_layer():
    s = summarize(build_model(DEFAULT_MODEL), DEFAULT_MODEL)
    d = s.to_dict()
    assert d["params"] == sum(p.numel() for p in build_model(DEFAULT_MODEL).parameters())
    md = s.to_markdown()
    assert all(layer["name"] in md for layer in d["layers"])
    assert "MFLOPs per image" in md


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_model_maps_images_to_30_coordinates(name):
    model = build_model(name)
    assert model(torch.zeros(2, 1, 96, 96)).shape == (2, 30)


def test_default_model_is_cheaper_than_seed_per_image():
    # the default must fit many epochs into a minute on a 2-core CPU
    assert summarize(build_model(DEFAULT_MODEL)).train_flops_per_image < summarize(build_model("seed")).train_flops_per_image


def test_unknown_model_is_a_one_line_error():
    with pytest.raises(KpbenchError, match="unknown model 'resnet9'; choose one of"):
        build_model("resnet9")


def test_cli_model_choices_are_the_model_names():
    from kpbench.cli.train import ModelName

    assert tuple(m.value for m in ModelName) == MODEL_NAMES
