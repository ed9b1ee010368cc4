"""The codec files shipped inside the package, found through importlib.resources wherever it is
installed: ``DEFAULT_CODEC`` (the hyperprior ladder, what encode-image uses) and
``FACTORIZED_CODEC`` (the first shipped codec, kept so that its bitstreams still decode)."""

from importlib.resources import files
from pathlib import Path

DATA = files("nrcodec.image").joinpath("data")
DEFAULT_CODEC = Path(str(DATA.joinpath("hyperprior.nic")))
FACTORIZED_CODEC = Path(str(DATA.joinpath("base.nic")))
SHIPPED_CODECS = (DEFAULT_CODEC, FACTORIZED_CODEC)
