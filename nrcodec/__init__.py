"""nrcodec: a growing video library in one neural file, and a learned image codec that adapts
without forgetting."""

__version__ = "0.1.0"
