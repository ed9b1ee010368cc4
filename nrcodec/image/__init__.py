"""Learned image codecs (a registry of models, the factorized prior first) with CAwF domain
adaptation: versions, codec file, bitstreams, training. The shipped base codec is ``DEFAULT_CODEC``."""

from pathlib import Path

from nrcodec.image.codec import Codec, decode_image, encode_image
from nrcodec.image.models import Architecture, ImageModel, register_model
from nrcodec.image.train import Adaptation, adapt, train_codec
from nrcodec.image.versions import ADAPT_MODES
from nrcodec.runtime import TrainSettings

DEFAULT_CODEC = Path(__file__).parent / "data" / "base.nic"

__all__ = [
    "ADAPT_MODES",
    "DEFAULT_CODEC",
    "Adaptation",
    "Architecture",
    "Codec",
    "ImageModel",
    "TrainSettings",
    "adapt",
    "decode_image",
    "encode_image",
    "register_model",
    "train_codec",
]
