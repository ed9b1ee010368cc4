"""Bytes only: chunk framing, records, bitsets, quantization, entropy coding, atomic commit.

Nothing here imports torch, so every reader is fast to test and reusable."""
