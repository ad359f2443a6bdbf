"""``hubsr.batch.Upscaler``: one model load, batches of arrays, the same results however batched."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from hubsr import load
from hubsr.batch import Upscaler
from hubsr.errors import HubSRError
from hubsr.pipeline import upscale


@pytest.fixture(scope="module")
def upscaler():
    return Upscaler("abpn-x2", dtype="float32")


def _images():
    rng = np.random.default_rng(0)
    sizes = [(7, 9), (12, 5), (7, 9)]
    return [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in sizes]


def test_same_results_however_batched(upscaler):
    images = _images()
    together = upscaler(images)
    alone = [upscaler([image])[0] for image in images]
    reversed_ = upscaler(images[::-1])[::-1]
    for a, b, c, image in zip(together, alone, reversed_, images, strict=True):
        assert a.shape == (image.shape[0] * 2, image.shape[1] * 2, 3) and a.dtype == np.uint8
        assert np.array_equal(a, b) and np.array_equal(a, c)


def test_results_are_those_of_the_pipeline(upscaler):
    image = _images()[1]
    expected = upscale(load("abpn-x2"), image, dtype="float32")
    assert np.array_equal(upscaler([image])[0], expected)


def test_a_stacked_array_gives_a_stacked_array(upscaler):
    stack = np.stack([_images()[0], _images()[2]])
    result = upscaler(stack)
    assert isinstance(result, np.ndarray) and result.shape == (2, 14, 18, 3)
    assert np.array_equal(result[1], upscaler([stack[1]])[0])


def test_pil_images_and_16_bits_come_back_as_they_went(upscaler):
    deep = np.random.default_rng(1).integers(0, 65536, (5, 4, 3), dtype=np.uint16)
    pil, arr = upscaler([Image.fromarray(_images()[0]), deep])
    assert isinstance(pil, Image.Image) and pil.size == (18, 14)
    assert arr.dtype == np.uint16 and arr.shape == (10, 8, 3)


def test_default_model_of_the_scale_and_a_wrong_scale():
    assert Upscaler(scale=2, model="bicubic").scale == 2
    with pytest.raises(HubSRError):
        Upscaler("abpn-x2", scale=3)
