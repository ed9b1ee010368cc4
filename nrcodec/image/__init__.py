"""Learned image codecs (a registry of models: the factorized prior and the mean-scale hyperprior
with quality levels) with CAwF domain adaptation: versions, codec file, bitstreams, training.

Shipped codecs: ``DEFAULT_CODEC`` (the hyperprior ladder, what encode-image uses) and
``FACTORIZED_CODEC`` (the first shipped codec, kept so that its bitstreams still decode); a
bitstream names its codec, and decode-image finds it among ``SHIPPED_CODECS``."""

from pathlib import Path

from nrcodec.image.codec import Codec, decode_image, encode_image
from nrcodec.image.models import Architecture, ImageModel, register_model
from nrcodec.image.settings import CodecSettings
from nrcodec.image.train import Adaptation, adapt, train_codec
from nrcodec.image.versions import ADAPT_MODES

DEFAULT_CODEC = Path(__file__).parent / "data" / "hyperprior.nic"
FACTORIZED_CODEC = Path(__file__).parent / "data" / "base.nic"
SHIPPED_CODECS = (DEFAULT_CODEC, FACTORIZED_CODEC)

__all__ = [
    "ADAPT_MODES",
    "DEFAULT_CODEC",
    "FACTORIZED_CODEC",
    "SHIPPED_CODECS",
    "Adaptation",
    "Architecture",
    "Codec",
    "CodecSettings",
    "ImageModel",
    "adapt",
    "decode_image",
    "encode_image",
    "register_model",
    "train_codec",
]
