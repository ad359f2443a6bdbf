"""Training end to end on CPU via `accelerate launch`: smoke, kill + resume, NaN, 2 processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

import hubsr
from hubsr.record import ARTIFACTS, read_summary

pytestmark = pytest.mark.slow  # accelerate launch subprocesses

REPO = Path(__file__).resolve().parent.parent
ACCELERATE = Path(sys.executable).with_name("accelerate")
TINY_MODEL = json.dumps({"channels": 8, "num_convs": 2, "linear_skip": 0})


def launch(tiny_data, out: Path, *args: str, processes: int = 1) -> subprocess.CompletedProcess:
    # Several processes go through torchrun (--multi_gpu); on a machine without GPUs the script
    # asks Accelerate for CPU, which makes that a gloo MULTI_CPU run.
    mode = "--cpu" if processes == 1 else "--multi_gpu"
    cmd = [
        str(ACCELERATE), "launch", mode, "--num_processes", str(processes),
        "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
        str(REPO / "training" / "train.py"),
        "--train-dirs", str(tiny_data["train"]), "--eval-dir", str(tiny_data["eval"]),
        "--test-dirs", str(tiny_data["eval"]), "--cache-dir", str(out.parent / "cache"),
        "--arch", "abpn", "--model-args", TINY_MODEL, "--scale-aug", "1.0,0.8",
        "--batch", "4", "--patch", "8",
        "--log-every", "2", "--eval-every", "4", "--threads", "1", "--output", str(out), *args,
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)


def metrics(out: Path) -> list[dict]:
    return [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines() if x]


def test_smoke_run_writes_a_loadable_model_folder(tiny_data, tmp_path):
    out = tmp_path / "run"
    result = launch(tiny_data, out, "--steps", "8", "--l2-tail", "0.5", "--detail-oversample", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "step:8/8 loss:" in result.stdout and "set5:" in result.stdout
    model = hubsr.HubSR.from_pretrained(out)
    assert isinstance(model, hubsr.get_architecture("abpn")) and model.scale == 3
    for name in (
        "train_config.json",
        "code/train.py",  # the run folder keeps its code beside the model folder's artifacts
        "code/data.py",
        "code/muon.py",
        "README.md",
        "training_curve.png",
    ):
        assert (out / name).is_file(), name
    assert {p.name for p in out.iterdir() if p.is_file()} <= set(ARTIFACTS)
    assert read_summary(out / "train_summary.json").hubsr_version is not None
    rows = metrics(out)
    assert [r["step"] for r in rows] == [2, 4, 6, 8]
    assert all(np.isfinite(r["loss"]) for r in rows)
    # --l2-tail 0.5: the second half of the steps trains on the L2 loss.
    assert [r["loss_fn"] for r in rows] == ["l1_loss", "l1_loss", "mse_loss", "mse_loss"]
    assert "set5_psnr" in rows[1] and "set5_psnr" in rows[3]
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["steps"] == 8 and summary["best_step"] in (4, 8)
    # The shipped weights are the EMA weights of the best Set5 step.
    assert (out / "model.safetensors").read_bytes() == (out / "best/model.safetensors").read_bytes()
    # A second run into the same folder is refused rather than overwriting it.
    again = launch(tiny_data, out, "--steps", "8")
    assert again.returncode != 0 and "not empty" in again.stderr


# With Muon there are two optimizers to checkpoint, and Muon's momentum must come back too.
@pytest.mark.parametrize("optimizer", ["adamw", "muon"])
def test_killed_run_resumes_to_the_same_weights(tiny_data, tmp_path, optimizer):
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    flags = ("--steps", "12", "--optimizer", optimizer)
    assert launch(tiny_data, straight, *flags).returncode == 0
    died = launch(tiny_data, killed, *flags, "--stop-at", "8")
    assert died.returncode != 0 and "exiting without cleanup" in died.stdout
    assert not (killed / "last").exists()  # it really stopped before the end
    resumed = launch(tiny_data, killed, *flags, "--resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resumed from" in resumed.stdout and "at step 8" in resumed.stdout
    a = load_file(straight / "last" / "model.safetensors")
    b = load_file(killed / "last" / "model.safetensors")
    assert a.keys() == b.keys()
    assert all((a[k] == b[k]).all() for k in a), "resumed run diverged from the uninterrupted one"
    assert [r["step"] for r in metrics(killed)] == [r["step"] for r in metrics(straight)]


def test_a_photo_run_trains_on_degraded_patches_and_selects_on_degraded_set5(tiny_data, tmp_path):
    out = tmp_path / "photo"
    flags = ["--steps", "4", "--degrade", "photo", "--eval-degradations", "clean,jpeg50"]
    result = launch(tiny_data, out, *flags)
    assert result.returncode == 0, result.stderr[-3000:]
    row = metrics(out)[-1]
    # The selection score is the mean over the named degradations of Set5.
    assert np.isclose(row["set5_psnr"], (row["set5_clean_psnr"] + row["set5_jpeg50_psnr"]) / 2)
    results = json.loads((out / "train_summary.json").read_text())["results"]
    assert {"set5", "set5-jpeg50", "eval", "eval-jpeg50"} <= set(results)
    assert results["set5-jpeg50"]["psnr"] < results["set5"]["psnr"]


def test_flat_colours_train_flat_images_beside_the_patches_and_log_the_flat_error(
    tiny_data, tmp_path
):
    """--flat-colours adds the flat-colour loss to every step (it shows in the loss: the same
    seed draws the same patches; --flat-hard mines half of them, with a scan's colours among the
    candidates) and every evaluation logs the worst endless flat error."""
    plain, flat, seeds = tmp_path / "plain", tmp_path / "flat", tmp_path / "seeds.pt"
    torch.save({"colours": torch.tensor([[142, 211, 180], [0, 247, 0]])}, seeds)
    assert launch(tiny_data, plain, "--steps", "4").returncode == 0
    flags = ("--steps", "4", "--flat-colours", "8", "--flat-hard", "4", "--flat-weight", "5")
    flags += ("--flat-seeds", str(seeds))
    result = launch(tiny_data, flat, *flags)
    assert result.returncode == 0, result.stderr[-3000:]
    first_plain, first_flat = metrics(plain)[0], metrics(flat)[0]
    assert first_flat["loss"] > first_plain["loss"]
    assert all(0 <= r["flat_error"] <= 255 for r in metrics(flat) if "set5_psnr" in r)
    config = json.loads((flat / "train_config.json").read_text())
    assert (config["flat_colours"], config["flat_hard"], config["flat_seeds"]) == (8, 4, str(seeds))
    assert (flat / "code" / "flat_colour.py").is_file()


def test_nan_loss_stops_with_a_clear_message(tiny_data, tmp_path):
    result = launch(tiny_data, tmp_path / "nan", "--steps", "40", "--lr", "1e30", "--ema", "0.5")
    assert result.returncode != 0
    assert "NaN or infinite" in result.stderr + result.stdout


def test_two_processes_keep_replicas_identical_on_different_data(tiny_data, tmp_path):
    out = tmp_path / "ddp"
    result = launch(tiny_data, out, "--steps", "8", processes=2)
    assert result.returncode == 0, result.stderr[-3000:]
    checks = [r for r in metrics(out) if "weight_sums" in r]
    assert checks, "no replica check was logged"
    for row in checks:
        assert len(row["weight_sums"]) == 2
        assert row["weight_sums"][0] == row["weight_sums"][1]
        assert row["batch_sums"][0] != row["batch_sums"][1]
    hubsr.HubSR.from_pretrained(out)


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--loss", "charbonnier"], "--loss must be one of l1, l2"),
        (["--l2-tail", "1"], "--l2-tail is a fraction of training in [0, 1)"),
        (["--steps", "0"], "give a length"),
        (["--optimizer", "sgd"], "--optimizer must be adamw or muon"),
        (["--distill-weight", "1.5"], "--distill-weight is a share in [0, 1]"),
        (["--teacher-tta", "x4"], "--teacher-tta must be one of none, random, x8"),
        (["--teacher-on", "tiles"], "--teacher-on must be one of patches, images"),
        (["--teacher-on", "images", "--teacher-tta", "random"], "use --teacher-tta x8"),
        (["--degrade", "blur"], "--degrade must be one of none, photo"),
        (["--eval-degradations", "clean,jpeg5"], "--eval-degradations takes names from"),
        (["--degrade", "photo", "--teacher", "edsr-x3"], "not combined with --degrade"),
        (["--flat-colours", "-1"], "--flat-colours and --flat-weight must be 0 or more"),
        (["--flat-colours", "8", "--flat-hard", "9"], "--flat-hard must be between 0 and"),
        (["--flat-colours", "8", "--flat-seeds", "x.pt"], "--flat-seeds needs --flat-hard"),
        (
            ["--flat-colours", "8", "--flat-hard", "4", "--flat-seeds", "nowhere.pt"],
            "--flat-seeds: no such file: nowhere.pt",
        ),
    ],
)
def test_bad_settings_are_refused_before_any_work(flags, message, tmp_path):
    cmd = [sys.executable, str(REPO / "training" / "train.py"), *flags]
    cmd += ["--output", str(tmp_path / "run")]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and message in result.stderr
    assert not (tmp_path / "run").exists()


def test_a_teacher_with_the_students_own_weights_leaves_nothing_to_learn(tiny_data, tmp_path):
    """--distill-weight 1 with the starting weights as the teacher: the target is the student's
    own output, so the loss is zero from the first step and the weights never move. A teacher
    that was ignored would leave the (positive) HR loss."""
    teacher = tmp_path / "teacher"
    torch.manual_seed(3)
    hubsr.get_architecture("abpn")(scale=3, **json.loads(TINY_MODEL)).save_pretrained(teacher)
    out = tmp_path / "run"
    flags = ["--steps", "4", "--optimizer", "adamw", "--init-from", str(teacher)]
    result = launch(tiny_data, out, *flags, "--teacher", str(teacher), "--distill-weight", "1")
    assert result.returncode == 0, result.stderr[-3000:]
    assert [r["loss"] for r in metrics(out)] == [0.0, 0.0]
    start, end = load_file(teacher / "model.safetensors"), load_file(out / "last/model.safetensors")
    assert all(start[k].equal(end[k]) for k in start)
    summary = read_summary(out / "train_summary.json")
    assert summary.teacher == str(teacher) and summary.distill_weight == 1.0
    assert f"- distilled from `{teacher}`" in (out / "README.md").read_text()


def test_a_teacher_on_whole_images_is_computed_once_and_cached(tiny_data, tmp_path):
    """--teacher-on images: the teacher's x8 SR of each pyramid image is made once, cached under
    the teacher's weights digest, reused by the next run, and recorded in the summary and card."""
    teacher = tmp_path / "teacher"
    torch.manual_seed(4)
    hubsr.get_architecture("abpn")(scale=3, **json.loads(TINY_MODEL)).save_pretrained(teacher)
    flags = ["--steps", "4", "--teacher", str(teacher), "--teacher-tta", "x8"]
    flags += ["--teacher-on", "images", "--distill-weight", "0.7"]
    first = launch(tiny_data, tmp_path / "run", *flags)
    assert first.returncode == 0, first.stderr[-3000:]
    caches = list((tmp_path / "cache").rglob("pyramid-x3-*-teacher-*-x8.npz"))
    assert len(caches) == 1
    written = caches[0].stat().st_mtime_ns
    assert "teacher SR (x8)" in first.stderr  # the one-off pass shows its progress
    second = launch(tiny_data, tmp_path / "run2", *flags)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "teacher SR" not in second.stderr and caches[0].stat().st_mtime_ns == written
    summary = read_summary(tmp_path / "run" / "train_summary.json")
    assert summary.teacher_on == "images" and summary.teacher_tta == "x8"
    assert summary.distill_weight == 0.7
    card = (tmp_path / "run" / "README.md").read_text()
    assert "computed once on each whole training image" in card
    assert all(np.isfinite(r["loss"]) and r["loss"] > 0 for r in metrics(tmp_path / "run"))


def test_a_teacher_of_another_scale_or_none_at_all_is_refused(tmp_path):
    from train import load_teacher

    hubsr.get_architecture("abpn")(scale=2, channels=8, num_convs=2).save_pretrained(
        tmp_path / "x2"
    )
    with pytest.raises(SystemExit, match="upscales x2, but the run trains x3"):
        load_teacher(str(tmp_path / "x2"), 3, "cpu")
    with pytest.raises(SystemExit, match="--teacher .*missing"):
        load_teacher(str(tmp_path / "missing"), 3, "cpu")
    teacher = load_teacher(str(tmp_path / "x2"), 2, "cpu")
    assert not teacher.training and not any(p.requires_grad for p in teacher.parameters())


def test_warm_start_loads_every_weight_or_refuses_clearly(tmp_path):
    from train import load_warm_start

    abpn = hubsr.get_architecture("abpn")
    trained = abpn(scale=3, channels=8, num_convs=2)
    trained.save_pretrained(tmp_path / "trained")
    fresh = abpn(scale=3, channels=8, num_convs=2)
    load_warm_start(fresh, tmp_path / "trained")
    loaded = fresh.state_dict()
    for name, tensor in trained.state_dict().items():
        assert tensor.equal(loaded[name]), name
    with pytest.raises(SystemExit, match="does not fit --arch/--model-args"):
        load_warm_start(abpn(scale=3, channels=16, num_convs=2), tmp_path / "trained")
    with pytest.raises(SystemExit, match="no model.safetensors"):
        load_warm_start(fresh, tmp_path / "missing")


def test_cross_scale_warm_start_keeps_the_body_and_only_the_named_tail_fresh(tmp_path):
    from train import load_warm_start

    edsr = hubsr.get_architecture("edsr")
    trained = edsr(scale=3, feature_channels=8, num_blocks=2)
    trained.save_pretrained(tmp_path / "x3")
    torch.manual_seed(1)
    fresh = edsr(scale=2, feature_channels=8, num_blocks=2)
    before = {k: v.clone() for k, v in fresh.state_dict().items()}
    # Without a skip the x3 upsampler does not fit an x2 model: a clear refusal, nothing loaded.
    with pytest.raises(SystemExit, match="does not fit"):
        load_warm_start(fresh, tmp_path / "x3")
    skipped = load_warm_start(fresh, tmp_path / "x3", skip=("tail.0",))
    assert skipped == ["tail.0.0.weight", "tail.0.0.bias"]
    source = trained.state_dict()
    for name, tensor in fresh.state_dict().items():
        expected = before[name] if name in skipped else source[name]
        assert tensor.equal(expected), name
    with pytest.raises(SystemExit, match="no parameter of the model starts so"):
        load_warm_start(fresh, tmp_path / "x3", skip=("upsampler",))


def test_muon_takes_the_hidden_filters_and_never_a_pixel_to_pixel_path():
    from train import Settings, make_optimizers

    abpn = hubsr.get_architecture("abpn")
    for skip in (0, 5):
        model = abpn(scale=3, channels=8, num_convs=2, linear_skip=skip)
        adamw, muon = make_optimizers(model, Settings(optimizer="muon"), fused=False)
        names = {id(p): name for name, p in model.named_parameters()}
        on_muon = [names[id(p)] for group in muon.param_groups for p in group["params"]]
        assert on_muon == ["body.2.weight", "body.4.weight"]  # not the first or the last conv
        on_adamw = {names[id(p)] for group in adamw.param_groups for p in group["params"]}
        assert on_adamw == set(names.values()) - set(on_muon)


def test_training_evaluation_agrees_with_hubsr_benchmark():
    """train.py's Set5 selection scores the way ``hubsr benchmark`` does, image by image."""
    from accelerate import Accelerator

    from hubsr.benchmark import benchmark

    from train import benchmark_pairs, evaluate

    model = hubsr.HubSR.from_pretrained("abpn-x3")
    ours = evaluate(model, benchmark_pairs(REPO / "data" / "Set5", 3), 3, Accelerator(cpu=True))
    theirs = benchmark(model, "Set5", 3, progress=False)
    assert len(ours["per_image"]) == len(theirs["images"]) == 5
    # Both go through model.upscale in float32 and hubsr.protocol.score: the same numbers, to
    # the bit (a protocol difference, such as crop, Y conversion or rounding, moves 0.01 dB).
    for image in theirs["images"]:
        mine = ours["per_image"][image["name"]]
        assert mine["psnr"] == image["psnr"], image["name"]
        assert mine["ssim"] == image["ssim"], image["name"]
    assert ours["psnr"] == pytest.approx(theirs["psnr"], abs=1e-4)
