"""Bytes only: chunk framing, records, varints, quantization, entropy coding, atomic commit.

Nothing here imports torch, so every reader is fast to test and reusable."""
