"""Learned image codecs (a registry of models: the factorized prior and the mean-scale hyperprior
with quality levels) with CAwF domain adaptation: versions, codec file, bitstreams, training.

Shipped codecs: ``DEFAULT_CODEC`` (the hyperprior ladder, what encode-image uses) and
``FACTORIZED_CODEC`` (the first shipped codec, kept so that its bitstreams still decode); a
bitstream names its codec, and decode-image finds it among ``SHIPPED_CODECS``. In memory:
``encode`` (an RGB array to bitstream bytes), ``decode`` (back) and ``codec_versions`` (of a codec file)."""

from nrcodec.image.codec import Codec, decode_image, encode_image
from nrcodec.image.memory import codec_versions, decode, encode, load_codec
from nrcodec.image.models import Architecture, ImageModel, register_model
from nrcodec.image.settings import CodecSettings
from nrcodec.image.shipped import DEFAULT_CODEC, FACTORIZED_CODEC, SHIPPED_CODECS
from nrcodec.image.train import Adaptation, adapt, train_codec
from nrcodec.image.versions import ADAPT_MODES

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
    "codec_versions",
    "decode",
    "decode_image",
    "encode",
    "encode_image",
    "load_codec",
    "register_model",
    "train_codec",
]
