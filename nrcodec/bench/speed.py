"""Speed: a default grow session's training and decode frames per second per device, the PNR
supernet's masked vs dense training step, decode frames per second, the entropy coder, and the
shipped image codec's encode and decode time on a 768x512 picture (at the encoder efforts asked for).

The masked step (scores, top-c% threshold, straight-through gradient, frozen-gradient masking)
is compared with a dense step of the very same architecture and optimizer, interleaved in
rounds so that a busy machine slows both alike.
"""

from __future__ import annotations

import statistics
import time
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from nrcodec.format import entropy, nrc, nrc_v1
from nrcodec.format.entropy import FrequencyTable
from nrcodec.image import Codec, decode_image, encode_image
from nrcodec.image.evaluate import psnr
from nrcodec.image.refine import EFFORT_STEPS
from nrcodec.video.decoding import DECODE_BATCH, decode_frames
from nrcodec.video.frames import Placement, to_training
from nrcodec.video.grow.network import SessionNet, layout
from nrcodec.video.grow.settings import BATCH_SIZE, DEFAULT_QUALITY, DEFAULT_WEIGHT_BITS, LEARNING_RATE
from nrcodec.video.settings import SessionSettings
from nrcodec.video.supernet.config import SupernetConfig
from nrcodec.video.supernet.library import SupernetLibrary
from nrcodec.video.supernet.model import Supernet, preset
from nrcodec.video.trainer import reconstruction_loss

SAMPLE_CLIP = Path(str(files("nrcodec").joinpath("data", "bunny.mp4")))
"""A real clip shipped inside the package (Big Buck Bunny, CC-BY 3.0; see samples/README.md), so that
``bench speed`` runs wherever nrcodec is installed."""


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _step_time(model: Supernet, masked: bool, steps: int, batch: int, device: torch.device) -> float:
    for layer in model.masked_layers().values():
        layer.reset_scores()
        if masked:
            layer.select_by_scores(0.3)
        else:
            layer.select_all()
    params = [p for n, p in model.named_parameters() if masked or not n.endswith("score")]
    optimizer = torch.optim.Adam(params, lr=1e-4, fused=device.type in ("cpu", "cuda"))
    w, h = model.arch.canvas
    target = torch.rand(batch, 3, h, w, device=device)
    frames = torch.arange(batch)
    model.train()
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        loss = reconstruction_loss(model(2, frames, 32), target, 0.7)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    _sync(device)
    return (time.perf_counter() - start) / steps


def step_ratio(preset_name: str, device: torch.device, steps: int = 10, rounds: int = 5) -> dict[str, Any]:
    """Median masked and dense step times (seconds) and their ratio, with half the supernet frozen."""
    chosen = preset(preset_name)
    torch.manual_seed(0)
    model = Supernet(chosen.architecture).to(device)
    for layer in model.masked_layers().values():
        layer.frozen.copy_(torch.rand_like(layer.weight) < 0.5)
    batch = chosen.batch_size
    _step_time(model, True, 2, batch, device)
    _step_time(model, False, 2, batch, device)
    masked, dense = [], []
    for _ in range(rounds):
        masked.append(_step_time(model, True, steps, batch, device))
        dense.append(_step_time(model, False, steps, batch, device))
    m, d = statistics.median(masked), statistics.median(dense)
    return {"preset": preset_name, "batch": batch, "masked_step_s": m, "dense_step_s": d, "ratio": m / d}


def decode_fps(preset_name: str, device: torch.device, frames: int = 32) -> float:
    """Frames per second of a batched, cached-mask decode of one session on ``device``."""
    chosen = preset(preset_name)
    torch.manual_seed(0)
    model = Supernet(chosen.architecture).to(device).eval()
    for layer in model.masked_layers().values():
        layer.fix_mask(torch.rand_like(layer.weight) < 0.3)
    with torch.inference_mode():
        model(1, torch.arange(DECODE_BATCH), frames)
        _sync(device)
        start = time.perf_counter()
        for i in range(0, frames, DECODE_BATCH):
            model(1, torch.arange(i, min(i + DECODE_BATCH, frames)), frames)
        _sync(device)
    return frames / (time.perf_counter() - start)


def entropy_throughput(symbols: int = 1_000_000) -> dict[str, float]:
    """Symbols per second of the ANS coder on int8 weights shaped like a session's (Laplacian)."""
    rng = np.random.default_rng(0)
    values = np.clip(np.rint(rng.laplace(0, 20, symbols)), -127, 127).astype(np.int64)
    table = FrequencyTable.fit(values)
    start = time.perf_counter()
    coded = entropy.encode(values, table)
    encode_s = time.perf_counter() - start
    start = time.perf_counter()
    entropy.decode(coded, table, symbols, "bench")
    decode_s = time.perf_counter() - start
    return {
        "encode_symbols_per_s": symbols / encode_s,
        "decode_symbols_per_s": symbols / decode_s,
        "coded_vs_bound": len(coded) * 8 / table.bits(values),
    }


def archive_vs_bound(preset_name: str, frames: np.ndarray, epochs: int = 2) -> dict[str, float]:
    """Bytes of one real session chunk against the ideal code length of its masks and weights."""
    chosen = preset(preset_name)
    library = SupernetLibrary(SupernetConfig(preset=chosen.name, architecture=chosen.architecture))
    frozen = library.state.frozen()
    result = library.add_session(
        frames, "bench", 25.0, SessionSettings(epochs=epochs, batch_size=chosen.batch_size, lr=chosen.lr)
    )
    size = nrc_v1.CodedSize()
    chunk = nrc.session_chunk(nrc_v1.encode_session(result.record, frozen, size))
    return {"chunk_bytes": len(chunk), "bound_bytes": size.bits / 8, "ratio": len(chunk) * 8 / size.bits}


def session_speed(frames: np.ndarray, device: torch.device, precision: str = "fp32", steps: int = 6) -> dict[str, Any]:
    """Training frames per second and decode frames per second of a default grow session (quality
    ``DEFAULT_QUALITY``, laid out for 120 frames of the clip's size), on ``device`` in ``precision``."""
    height, width = frames.shape[1:3]
    count = 120
    arch = layout((width, height), count, DEFAULT_QUALITY)
    placement = Placement.compute((width, height), arch.canvas)
    torch.manual_seed(0)
    net = SessionNet(arch, DEFAULT_WEIGHT_BITS).to(device)
    targets = to_training(frames[:BATCH_SIZE], placement).to(device)
    index = torch.arange(targets.shape[0])
    optimizer = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE, fused=device.type in ("cpu", "cuda"))

    def step() -> None:
        with torch.autocast(device.type, torch.bfloat16, enabled=precision == "bf16"):
            out = placement.crop(net(1, index, count)).float()
        loss = reconstruction_loss(out, targets, 0.7)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    step()
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    train_fps = steps * len(index) / (time.perf_counter() - start)
    net.eval()
    decode_frames(net, 1, count, placement, (0, DECODE_BATCH))
    _sync(device)
    start = time.perf_counter()
    decode_frames(net, 1, count, placement)
    _sync(device)
    decode = count / (time.perf_counter() - start)
    return {
        "device": str(device),
        "precision": precision,
        "size": [width, height],
        "weights": sum(p.numel() for p in net.parameters()),
        "train_fps": round(train_fps, 2),
        "decode_fps": round(decode, 2),
    }


def session_targets() -> list[tuple[torch.device, str]]:
    """Where ``session_speed`` runs: the CPU in fp32, and CUDA in fp32 and bf16 when there is a GPU."""
    targets = [(torch.device("cpu"), "fp32")]
    if torch.cuda.is_available():
        targets += [(torch.device("cuda"), "fp32"), (torch.device("cuda"), "bf16")]
    return targets


IMAGE_SIZE = (768, 512)
"""The size the image codec's speed is reported at (Kodak's)."""


def image_speed(codec: Codec, rgb: np.ndarray, rounds: int = 3, efforts: tuple[int, ...] = ()) -> dict[str, Any]:
    """Encode and decode seconds (medians of ``rounds``, after a warm-up) of the codec's newest
    version at its default quality on one image, real bytes both ways; then once at each refining
    encoder effort in ``efforts`` (minutes each: the refinement, not the timer's noise, dominates)."""
    encode_image(codec, rgb)
    encode_s, decode_s = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        encoded = encode_image(codec, rgb)
        encode_s.append(time.perf_counter() - start)
        start = time.perf_counter()
        decode_image(codec, encoded.data)
        decode_s.append(time.perf_counter() - start)
    return {
        "size": [int(rgb.shape[1]), int(rgb.shape[0])],
        "architecture": str(codec.versions[-1].architecture),
        "quality": encoded.quality or None,
        "bpp": round(encoded.bpp, 4),
        "psnr": round(psnr(rgb, encoded.reconstruction), 3),
        "encode_s": round(statistics.median(encode_s), 3),
        "decode_s": round(statistics.median(decode_s), 3),
        "threads": torch.get_num_threads(),
        "refined": [_refined_speed(codec, rgb, effort) for effort in efforts if effort > 0],
    }


def _refined_speed(codec: Codec, rgb: np.ndarray, effort: int) -> dict[str, Any]:
    """One encode at a refining effort and the decode of its bitstream (the same decoder as effort 0)."""
    start = time.perf_counter()
    encoded = encode_image(codec, rgb, effort=effort)
    encode_s = time.perf_counter() - start
    start = time.perf_counter()
    decode_image(codec, encoded.data)
    return {
        "effort": effort,
        "steps": EFFORT_STEPS[effort],
        "bpp": round(encoded.bpp, 4),
        "psnr": round(psnr(rgb, encoded.reconstruction), 3),
        "encode_s": round(encode_s, 3),
        "decode_s": round(time.perf_counter() - start, 3),
    }


def image_at_bench_size(frame: np.ndarray) -> np.ndarray:
    """A real picture at IMAGE_SIZE: the frame resized (Lanczos) when it has another size."""
    if (frame.shape[1], frame.shape[0]) == IMAGE_SIZE:
        return frame
    return np.asarray(Image.fromarray(frame).resize(IMAGE_SIZE, Image.Resampling.LANCZOS))
