#!/usr/bin/env bash
# Train the image codec shipped as nrcodec/image/data/hyperprior.nic (the default codec): the
# mean-scale hyperprior with 6 quality levels, with nrcodec's own command, in two stages.
# Resumable: each stage saves its whole state to its checkpoint every 250 steps; run this script
# again (same settings) to continue a stopped run from its last save, byte for byte as if it had
# never stopped; a stage whose codec file exists is finished and skipped (notes/image.md).
#
# Data: data/prepare_image_corpus.py (221 photos under permissive licences from Debian and PyPI
# packages, docs/image-corpus.md); the 188 of its train/ split, never the 33 held out.
# Stage 1: lambdas 0.0018 ... 0.0483 (the model's default ladder, CompressAI's qualities 1-6),
# 128x128 crops, batch 8 (each crop at a random level), 9000 Adam steps, peak lr 5e-4 (2% warm-up,
# cosine to a tenth), seed 0: about 0.6 s a step on two idle cores.
# Stage 2 (--init: the weights of stage 1, a new schedule): 256x256 crops, batch 4, 4500 steps,
# peak lr 3e-4. Larger crops give the hyper-latents (1/64 of the crop side) more than 2x2 positions.
set -euo pipefail
cd "$(dirname "$0")/.."
CORPUS="${CORPUS:-out/image-corpus}"
DIR="${DIR:-out/image-train}"
[ -d "$CORPUS/train" ] || .venv/bin/python data/prepare_image_corpus.py "$CORPUS"
mkdir -p "$DIR"
train() {
    [ -f "$1" ] || .venv/bin/nrcodec train-image-codec "$@" --images "$CORPUS/train" --seed 0 \
        --checkpoint-every 250 --threads 2 --device cpu --json
}
train "$DIR/hyperprior.nic" --model hyperprior --steps 9000 --crop 128 --batch 8 --lr 5e-4 \
    --checkpoint "$DIR/hyperprior.ckpt"
train "$DIR/hyperprior-256.nic" --init "$DIR/hyperprior.nic" --steps 4500 --crop 256 --batch 4 --lr 3e-4 \
    --checkpoint "$DIR/hyperprior-256.ckpt"
