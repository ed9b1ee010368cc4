"""The rate-distortion bench: anchors, BD-rate and the bench CLI on tiny settings (no timing asserts)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import nrcodec
from nrcodec.bench.anchors import encode_image, encode_video, image_anchors, video_anchors
from nrcodec.bench.curves import bd_rate, pareto
from nrcodec.bench.image import mean_curves
from nrcodec.bench.video import parse_sizes, psnr_at_bpp, scaled_architecture, width_for_weights
from nrcodec.cli import app
from nrcodec.errors import InputError
from nrcodec.metrics import ms_ssim_image
from nrcodec.video.archive import Archive
from nrcodec.video.grow.settings import GrowSettings
from nrcodec.video.settings import NewArchive
from nrcodec.video.supernet.model import preset
from nrcodec.video.videos import segment_meta

runner = CliRunner()


def test_every_anchor_spends_fewer_bytes_and_loses_quality_as_crf_rises(clips: dict[str, np.ndarray]) -> None:
    frames = clips["closeup"][:6]
    anchors = video_anchors()
    assert [a.name for a in anchors][:2] == ["x264-medium", "x264-veryslow"]
    for anchor in anchors:
        low, high = anchor.crfs[1], anchor.crfs[-2]
        fine, coarse = (encode_video(frames, 25.0, anchor, crf, "closeup") for crf in (low, high))
        assert fine.bytes > coarse.bytes > 0, anchor.name
        assert fine.psnr > coarse.psnr > 15, anchor.name
        assert fine.bpp == pytest.approx(fine.bytes * 8 / (144 * 192 * 6))


def test_video_anchor_handles_odd_sizes(clips: dict[str, np.ndarray]) -> None:
    frames = clips["bunny"][:4, :45, :81]
    point = encode_video(frames, 25.0, video_anchors()[0], 24, "odd")
    assert point.bpp == pytest.approx(point.bytes * 8 / (45 * 81 * 4))
    assert point.psnr > 25


def test_image_anchors_spend_more_bytes_for_more_quality(clips: dict[str, np.ndarray]) -> None:
    rgb = clips["meadow"][0]
    for anchor in image_anchors():
        points = [encode_image(rgb, anchor, s, "meadow") for s in (anchor.settings[0], anchor.settings[-1])]
        assert points[0].bytes < points[1].bytes, anchor.name
        assert points[0].psnr < points[1].psnr, anchor.name


def test_bd_rate_of_a_curve_against_itself_is_zero_and_half_the_rate_is_minus_half() -> None:
    curve = [(0.05, 26.0), (0.1, 29.5), (0.2, 32.4), (0.4, 35.1)]
    assert bd_rate(curve, curve)[0] == pytest.approx(0, abs=1e-9)
    halved = [(r / 2, d) for r, d in curve]
    assert bd_rate(curve, halved)[0] == pytest.approx(-50, abs=1e-6)


def test_bd_rate_is_undefined_without_overlap_and_ignores_dominated_points() -> None:
    anchor = [(0.05, 26.0), (0.1, 29.5), (0.2, 32.4)]
    value, note = bd_rate(anchor, [(1.0, 12.0), (2.0, 13.0)])
    assert value is None and "no PSNR overlap" in note
    assert pareto([(0.2, 30.0), (0.1, 31.0), (0.3, 33.0)]) == [(0.1, 31.0), (0.3, 33.0)]
    assert psnr_at_bpp(anchor, 0.1) == pytest.approx(29.5)
    assert psnr_at_bpp(anchor, 1.0) is None


def test_sizes_parse_and_stl_width_matches_a_weight_budget() -> None:
    sizes = parse_sizes("0.1, 0.3:0.5")
    assert [(s.capacity, s.width) for s in sizes] == [(0.1, 1.0), (0.3, 0.5)]
    for bad in ("", "0", "1.5", "0.2:99", "x"):
        with pytest.raises(InputError, match=r"^--sizes(:| is empty)"):
            parse_sizes(bad)
    arch = preset("small").architecture
    target = arch.weight_count() / 4
    width = width_for_weights(arch, target)
    assert 0.4 < width < 0.6
    assert scaled_architecture(arch, width).weight_count() == pytest.approx(target, rel=0.1)


def test_bench_video_writes_json_and_markdown_with_device_and_versions(tmp_path: Path, samples: Path) -> None:
    result = runner.invoke(
        app,
        [
            "bench", "video", str(samples / "meadow.mp4"), str(samples / "closeup.mp4"),
            "--preset", "tiny", "--epochs", "1", "--max-frames", "4", "--sizes", "0.3", "--crf-step", "3",
            "--device", "cpu", "--workdir", str(tmp_path / "work"),
            "--out", str(tmp_path / "r.json"), "--markdown", str(tmp_path / "r.md"),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["device"] == "cpu" and {"nrcodec", "torch", "av", "ffmpeg", "bjontegaard"} <= set(data["versions"])
    points = data["points"]
    ours = [p for p in points if p["codec"].startswith("nrcodec")]
    stl = [p for p in points if p["codec"].startswith("STL")]
    assert len(ours) == 2 and len(stl) == 2
    for p in points:
        w, h = (240, 180) if p["item"] == "meadow" else (144, 192)
        assert p["bpp"] == pytest.approx(p["bytes"] * 8 / (w * h * 4))
    assert sum(p["bytes"] for p in ours) == (tmp_path / "work" / "pnr-0.3-1.nrc").stat().st_size
    assert sum(p["bytes"] for p in stl) == sum(f.stat().st_size for f in (tmp_path / "work").glob("stl-*.nrc"))
    assert {r["anchor"] for r in data["bd_rate"]} == {a.name for a in video_anchors()}
    assert all(r["mean"] is None for r in data["bd_rate"])  # one nrcodec point is no curve
    markdown = (tmp_path / "r.md").read_text()
    assert markdown.startswith("Device:") and "torch" in markdown and "| meadow | nrcodec c=0.3 |" in markdown


def test_bench_video_bad_sizes_is_one_clean_error(samples: Path) -> None:
    result = runner.invoke(app, ["bench", "video", str(samples / "meadow.mp4"), "--sizes", "2"])
    assert result.exit_code == 1
    assert "--sizes" in result.output and "Traceback" not in result.output


def test_bench_image_writes_json_and_markdown_with_device_and_versions(tmp_path: Path, samples: Path) -> None:
    images = [samples / "images" / "chelsea.png", samples / "images" / "coffee.png"]
    result = runner.invoke(
        app,
        ["bench", "image", *map(str, images), "--out", str(tmp_path / "i.json"), "--markdown", str(tmp_path / "i.md")],
    )
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "i.json").read_text())
    assert data["device"] == "cpu" and {"nrcodec", "torch", "pillow"} <= set(data["versions"])
    sizes = {"chelsea": 112 * 112, "coffee": 96 * 128}
    ours = [p for p in data["points"] if p["codec"].startswith("nrcodec")]
    assert len(ours) == 2 * 6 * data["codec_files"][0]["versions"]  # two images, six quality levels
    assert sorted({p["quality"] for p in ours}) == [1, 2, 3, 4, 5, 6]
    assert {p["codec"] for p in data["points"]} >= {a.name for a in image_anchors()}
    for p in data["points"]:
        assert p["bpp"] == pytest.approx(p["bytes"] * 8 / sizes[p["item"]])
        assert p["ms_ssim"] is None  # 112 and 96 pixels: too small for five MS-SSIM scales
    assert all(p["psnr"] > 20 for p in ours)
    rows = {(r["metric"], r["anchor"]) for r in data["mean_curve_bd_rate"]}
    assert rows == {("psnr", a.name) for a in image_anchors()}  # no MS-SSIM curve on these small crops
    markdown = (tmp_path / "i.md").read_text()
    assert markdown.startswith("Device:")
    published = {(r["test"], r["published"]) for r in data["published_bd_rate"]}
    versions = range(data["codec_files"][0]["versions"])
    assert published == {(f"nrcodec v{v}", c) for v in versions for c in ("mbt2018-mean", "bmshj2018-hyperprior")}
    assert "Kodak-24" in markdown and "CompressAI" in markdown


def test_ms_ssim_curves_need_images_of_161_pixels(clips: dict[str, np.ndarray]) -> None:
    frame = clips["bunny"][0]  # 320x180
    assert ms_ssim_image(frame, frame) == pytest.approx(1.0)
    assert ms_ssim_image(frame[:160], frame[:160]) is None
    points = [
        {"codec": "a", "setting": s, "item": i, "bpp": b, "psnr": 30.0 + b, "ms_ssim": 1 - 0.1 / (1 + b)}
        for s, b in (("1", 0.5), ("2", 1.0)) for i in ("x", "y")
    ]  # fmt: skip
    psnr_curve = mean_curves(points, "psnr")["a"]
    assert psnr_curve == [(0.5, 30.5), (1.0, 31.0)]
    ssim_curve = mean_curves(points, "ms_ssim")["a"]
    assert ssim_curve[0][1] == pytest.approx(-10 * np.log10(0.1 / 1.5))


def test_bench_video_reports_ratios_and_resumes_from_its_archives(tmp_path: Path, samples: Path) -> None:
    """Two clips, two quality levels, one epoch: every session gets a ratio against x264 medium at its
    PSNR (or None outside the CRF ladder), each clip a BD-rate row per anchor, and a rerun trains nothing."""
    args = [
        "bench", "rd", str(samples / "bunny.mp4"), str(samples / "closeup.mp4"),
        "--qualities", "1,2", "--epochs", "1", "--max-frames", "4", "--no-first-sessions",
        "--device", "cpu", "--workdir", str(tmp_path / "rd"), "--json",
    ]  # fmt: skip
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    result = json.loads(first.stdout)
    points = result["points"]
    assert [(p["clip"], p["quality"], p["role"]) for p in points] == [
        ("bunny", 1, "first"), ("closeup", 1, "later"), ("bunny", 2, "first"), ("closeup", 2, "later"),
    ]  # fmt: skip
    for p in points:
        assert p["ratio"] is None or p["ratio"] == pytest.approx(p["bytes"] / p["x264_bytes"])
        assert p["ratio_444"] is None or p["ratio_444"] == pytest.approx(p["bytes"] / p["x264_444_bytes"])
    assert {a["codec"] for a in result["anchors"]} >= {"x264-medium", "x264-medium-444"}
    assert {(r["clip"], r["anchor"]) for r in result["bd_rates"]} >= {("bunny", "x264-medium")}
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and "training a video" not in again.stderr
    assert json.loads(again.stdout)["points"] == points


def test_bench_rd_default_level_learns_a_long_clip_as_one_video_of_segments(tmp_path: Path, samples: Path) -> None:
    """ "default" is add-video without settings: a clip longer than --segment is split, and its point is
    the whole video (bytes summed, PSNR over all its frames), read back on a rerun."""
    args = [
        "bench", "rd", str(samples / "bunny.mp4"), "--qualities", "default", "--epochs", "1",
        "--max-frames", "6", "--segment", "4", "--device", "cpu", "--workdir", str(tmp_path / "rd"), "--json",
    ]  # fmt: skip
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    (point,) = json.loads(first.stdout)["points"]
    assert (point["quality"], point["frames"], point["segments"], point["session"]) == (0, 6, 2, 1)
    (video,) = Archive.open(tmp_path / "rd" / "default.nrc").videos()
    assert [row.info.frames for row in video.segments] == [3, 3]
    assert point["bytes"] == video.bytes and point["psnr"] == pytest.approx(video.psnr)
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and "training a video" not in again.stderr
    assert json.loads(again.stdout)["points"] == [point]


def test_bench_rd_goes_on_from_the_next_segment_of_a_video_cut_off(tmp_path: Path, samples: Path) -> None:
    """A workdir archive holding segment 1 of 2 (an interrupted run) gets segment 2 only."""
    frames = nrcodec.read_video(samples / "bunny.mp4", max_frames=6).frames
    with Archive.writing(tmp_path / "default.nrc", NewArchive(strategy="grow"), "cpu") as archive:
        settings = GrowSettings(epochs=1, minutes=0.0)
        archive.add(frames[:3], "bunny", 25.0, settings, meta=segment_meta(1, 2))
        first = archive.session_bytes[0]
    args = [
        "bench", "rd", str(samples / "bunny.mp4"), "--qualities", "default", "--epochs", "1",
        "--max-frames", "6", "--segment", "4", "--device", "cpu", "--workdir", str(tmp_path), "--json",
    ]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    (video,) = Archive.open(tmp_path / "default.nrc").videos()
    assert [row.info.frames for row in video.segments] == [3, 3] and video.segments[0].bytes == first
    assert json.loads(result.stdout)["points"][0]["segments"] == 2


def test_bench_sessions_grows_an_archive_and_reports_the_three_figures(tmp_path: Path, samples: Path) -> None:
    args = ["bench", "sessions", str(samples / "closeup.mp4"), "--sessions", "3", "--epochs", "2", "--repeats", "2"]
    md = tmp_path / "sessions.md"
    result = runner.invoke(app, [*args, "--frames", "2", "--json", "--markdown", str(md), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["sessions_added"] == 3 and data["full_at_session"] is None
    assert [row["session"] for row in data["rows"]] == [1, 2, 3]
    assert all(row["psnr"] > 10 for row in data["rows"])
    assert data["rows"][-1]["file_bytes"] > data["rows"][0]["file_bytes"]
    assert set(data["decode_session_1_seconds"]) == {"1", "3"}
    assert set(data["figures"]) == set(data["met"]) == {"add_ratio", "decode_ratio", "psnr_drop_db"}
    assert data["figures"]["add_ratio"] == pytest.approx(
        data["rows"][2]["add_seconds"] / data["rows"][1]["add_seconds"], rel=1e-3
    )
    assert "add (open + train + append)" in md.read_text() and data["versions"]["torch"]
