"""Learned image codec (factorized prior) with CAwF domain adaptation: versions, codec file,
bitstreams, training. The shipped base codec is ``DEFAULT_CODEC``."""

from pathlib import Path

from nrcodec.image.codec import Codec, decode_image, encode_image
from nrcodec.image.train import Adaptation, TrainSettings, adapt, train_codec
from nrcodec.image.versions import ADAPT_MODES

DEFAULT_CODEC = Path(__file__).parent / "data" / "base.nic"

__all__ = [
    "ADAPT_MODES",
    "DEFAULT_CODEC",
    "Adaptation",
    "Codec",
    "TrainSettings",
    "adapt",
    "decode_image",
    "encode_image",
    "train_codec",
]
