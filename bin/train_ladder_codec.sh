#!/usr/bin/env bash
# Train the image codec shipped as nrcodec/image/data/hyperprior.nic (the default codec): the
# mean-scale hyperprior with 6 quality levels, with nrcodec's own command. Resumable: the run saves
# its whole state to $CKPT every 250 steps; run this script again (same settings) to continue a
# stopped run from its last save, byte for byte as if it had never stopped (notes/image.md).
#
# Data: bin/prepare_image_corpus.py (221 photos under permissive licences from Debian and PyPI
# packages, docs/image-corpus.md); the 188 of its train/ split, never the 33 held out.
# Settings: lambdas 0.0018 ... 0.0483 (the model's default ladder, CompressAI's qualities 1-6),
# 128x128 crops, batch 8 (each crop at a random level), 9000 Adam steps, peak lr 5e-4 (2% warm-up,
# cosine to a tenth), seed 0, CPU, 2 threads: about 0.6 s a step on two idle cores.
set -euo pipefail
cd "$(dirname "$0")/.."
CORPUS="${CORPUS:-out/image-corpus}"
CKPT="${CKPT:-out/image-train/hyperprior.ckpt}"
OUT="${OUT:-out/image-train/hyperprior.nic}"
[ -d "$CORPUS/train" ] || .venv/bin/python bin/prepare_image_corpus.py "$CORPUS"
mkdir -p "$(dirname "$CKPT")" "$(dirname "$OUT")"
.venv/bin/nrcodec train-image-codec "$OUT" --images "$CORPUS/train" --model hyperprior \
    --steps 9000 --crop 128 --batch 8 --lr 5e-4 --seed 0 --checkpoint "$CKPT" --checkpoint-every 250 \
    --threads 2 --device cpu --force --json
