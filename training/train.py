"""Train a hubsr model from scratch on local HR image folders, with Accelerate.

    accelerate launch training/train.py --model edsr-x2 --minutes 60 --steps 0 --output runs/edsr-x2

Say what is trained with ``--model NAME``, a registered variant (``hubsr models``): it gives
the architecture, its arguments and the scale. ``--arch`` with ``--model-args`` is only for a
model no variant describes (x3 unless ``--scale`` says otherwise); with neither, ``--scale N``
trains ``abpn-xN``. Every run writes the settings that made it to ``train_config.json``; the
bundled models' are ``model_cards/*/train_config.json``, and their cards give the results.

One script, top to bottom: the settings, then ``main()``, a list of phases (data, model and
optimizers, output folder, the loop with evaluation on Set5 and an atomic checkpoint every
``eval_every`` steps, the final evaluation, the model folder: EMA weights of the best Set5
step, its card, metrics and training curve), then the phases themselves and their tools.
Nothing here knows how many processes run it: each process draws its own patches, Accelerate
averages the gradients. Set5 is the only set used for selection; the test sets are measured
once, at the end.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import shlex
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from accelerate import Accelerator
from accelerate.utils import gather_object, set_seed
from safetensors.torch import load_file, save_file
from timm.utils import ModelEmaV3

import hubsr
from hubsr.atomic import atomic_file, atomic_folder, partial_folder, swap_in
from hubsr.benchmark import PROTOCOL_BORDER
from hubsr.cards import write_card
from hubsr.degradations import DEGRADATIONS, degrade
from hubsr.precision import default_amp_dtype
from hubsr.protocol import make_lr, modcrop, score
from hubsr.record import TrainSummary, code_version
from hubsr.registry import Variant

from curve import plot_curve
from data import (
    PairSampler,
    build_dataset,
    cached_pyramid,
    keep_detailed,
    load_rgb_images,
    to_rgb_uint8,
)
from degrade import RECIPES, PhotoRecipe, degrade_batch
from distill import (
    TEACHER_ON,
    TEACHER_TTA,
    cached_teacher_images,
    teacher_target,
    weights_digest,
)
from flat_colour import (
    MINING_EVERY,
    MINING_POOL,
    FlatColours,
    flat_colour_loss,
    load_flat_seeds,
    worst_flat_error,
)
from muon import ConvMuon
from presets import PRESETS

REPO = Path(__file__).resolve().parent.parent
LOSSES = {"l1": F.l1_loss, "l2": F.mse_loss}
PIXEL_PATHS = ("linear_skip.",)  # parameters that map pixels to pixels: AdamW, never Muon
DEFAULT_MODEL = "abpn-x{scale}"  # what a run that names no model trains
# The scripts a run copies into its output folder, beside the model folder's artifacts.
RUN_CODE = (
    "train.py",
    "data.py",
    "muon.py",
    "degrade.py",
    "presets.py",
    "flat_colour.py",
    "flat_scan.py",
)


def opt(default, help: str):
    return field(default=default, metadata={"help": help})


@dataclass
class Settings:
    """Every setting of a run, each a command-line flag (``--model-args`` for ``model_args``);
    written to ``train_config.json``, from which the same run can be made again."""

    preset: str = opt(
        "",
        "a named recipe of training/presets.py whose settings replace these defaults (flags "
        f"given here still win): {', '.join(PRESETS)}",
    )
    # What to train: a registered variant, or an architecture with arguments
    model: str = opt(
        "",
        "what to train: a registered variant (hubsr models), e.g. edsr-x2, which sets the "
        "architecture, its arguments and the scale (empty: abpn-x{scale}, ABPN with 64 "
        "channels and 7 convolutions)",
    )
    arch: str = opt(
        "",
        "for a model no variant describes: its architecture, built from its defaults and "
        "--model-args (with --model it may only repeat the variant's)",
    )
    model_args: str = opt(
        "", "JSON of constructor arguments (not scale) that replace the variant's or --arch's"
    )
    scale: int = opt(
        0, "super-resolution factor: --model's; without --model, abpn-x{scale} or --arch's (3)"
    )
    init_from: str = opt(
        "", "model folder whose weights start the run (a warm start from a model trained here)"
    )
    init_skip: str = opt(
        "",
        "comma-separated parameter-name prefixes that --init-from leaves freshly initialised "
        "(tail.0: a warm start from another scale keeps the body and learns a new upsampler)",
    )
    teacher: str = opt(
        "",
        "model (folder, bundled name or Hub id) of the same scale, trained here, whose output on "
        "each LR patch is a second target (distillation; empty: none)",
    )
    distill_weight: float = opt(
        0.5,
        "with --teacher: the teacher's share of the loss, "
        "(1 - w) loss(sr, hr) + w loss(sr, teacher(lr))",
    )
    teacher_tta: str = opt(
        "none",
        "with --teacher: none (the teacher's plain output), random (its output on one random "
        "flip/rotation of the batch, turned back: on average the x8 self-ensemble, at the cost "
        "of one forward) or x8 (the full self-ensemble, eight forwards)",
    )
    teacher_on: str = opt(
        "patches",
        "with --teacher: patches (its SR of each batch's LR patches, at every step) or images "
        "(its SR of each whole LR image of the training pyramid, once before training and "
        "cached; patches are cut from it as from HR: full-image context, no teacher cost per "
        "step; --teacher-tta none or x8)",
    )
    # Data
    train_dirs: str = opt("data/T91,data/BSDS200", "comma-separated HR folders (default: 291 set)")
    eval_dir: str = opt("data/Set5", "selection set, evaluated every eval_every steps")
    test_dirs: str = opt(
        "data/Set14,data/BSD100", "comma-separated sets measured once at the end, for the card"
    )
    scale_aug: str = opt("1.0,0.9,0.8,0.7,0.6", "HR down-scaling factors (291-set augmentation)")
    cache_dir: str = opt(
        ".cache/datasets", "where the datasets.Dataset of the HR images and its pyramid are saved"
    )
    workers: int = opt(0, "processes that build the pyramid (0: one per CPU core, at most 8)")
    prepare_data: bool = opt(
        False, "build the dataset and pyramid caches, then exit (runs side by side share them)"
    )
    detail_oversample: int = opt(
        2, "draw N times the batch and keep the patches with the most detail (1: plain draws)"
    )
    degrade: str = opt(
        "none",
        "none (the protocol's clean LR) or a recipe of training/degrade.py that degrades every "
        f"patch (random lens blur, down-scaling kernel, noise and JPEG): {', '.join(RECIPES)}",
    )
    eval_degradations: str = opt(
        "clean",
        "comma-separated hubsr.degradations names; the selection score is the mean Set5 PSNR "
        "over them (e.g. clean,jpeg75,jpeg50,noise10,mixed for a photo model)",
    )
    flat_colours: int = opt(
        0,
        "random flat colours a step, each an endless flat image (training/flat_colour.py) whose "
        "output should be the same colour: the loss gains --flat-weight times their loss",
    )
    flat_weight: float = opt(1.0, "with --flat-colours: the weight of their loss")
    flat_hard: int = opt(
        0,
        f"of the --flat-colours, this many are colours the model is furthest off (the worst of "
        f"{MINING_POOL} random ones, found again every {MINING_EVERY} steps); 0: all random",
    )
    flat_seeds: str = opt(
        "",
        "with --flat-hard: a file of colours written by training/flat_scan.py (the colours a "
        "scan of every 8-bit colour found off), which join every mining pool",
    )
    # Optimisation
    batch: int = opt(16, "patches per process per step")
    patch: int = opt(24, "LR patch size in pixels (HR patch = patch * scale)")
    optimizer: str = opt(
        "muon", "muon (Muon for the hidden conv filters, AdamW for the rest) or adamw"
    )
    lr: float = opt(1.5e-3, "peak learning rate of AdamW (Muon's is scaled to the same step size)")
    muon_scale: float = opt(1.0, "Muon's step size as a multiple of AdamW's (--optimizer muon)")
    beta2: float = opt(0.99, "AdamW beta2 (0.99 adapts faster than 0.999: fewer loss spikes)")
    weight_decay: float = opt(0.0, "AdamW weight decay")
    warmup: float = opt(0.03, "fraction of training spent warming the learning rate up")
    min_lr: float = opt(0.01, "final learning rate as a fraction of the peak (cosine decay)")
    loss: str = opt("l1", "l1 or l2")
    l2_tail: float = opt(
        0.0, "fraction of training, at the end, spent on the L2 loss (the loss PSNR measures)"
    )
    grad_clip: float = opt(1.0, "max gradient norm (0 disables)")
    ema: float = opt(0.999, "EMA decay of the weights (timm ModelEmaV3 with warm-up)")
    # Length: steps, or minutes of training time (whichever ends first; minutes=0 ignores time)
    steps: int = opt(20000, "training steps (0: no step limit, use --minutes)")
    minutes: float = opt(0.0, "training-time budget in minutes; the schedule follows the clock")
    # Bookkeeping
    eval_every: int = opt(2000, "steps between Set5 evaluations and checkpoints")
    log_every: int = opt(500, "steps between log lines")
    output: str = opt("runs/abpn-x3", "output folder (model folder + logs + checkpoint)")
    resume: bool = opt(False, "continue from output/checkpoint after an interruption")
    seed: int = opt(0, "seed of weights and patch sampling")
    mixed_precision: str = opt(
        "auto", "no, bf16 or fp16; auto = bf16 on CUDA and on CPUs with bf16 units, else no"
    )
    channels_last: bool = opt(True, "channels_last memory format (faster convs on CPU and GPU)")
    compile: bool = opt(False, "torch.compile the model")
    threads: int = opt(0, "CPU threads for torch (0 = torch's default)")
    snapshot_every: float = opt(
        0.0, "seconds of training time between EMA snapshots in output/snapshots (0: none)"
    )
    stop_at: int = opt(0, "die like a killed process right after this step's checkpoint (tests)")

    def __post_init__(self):
        # The fields then hold what is trained, so that train_config.json rebuilds that model.
        self.model, self.arch, self.model_args, self.scale = resolve_model(
            self.model, self.arch, self.model_args, self.scale
        )


def resolve_model(model: str, arch: str, model_args: str, scale: int) -> tuple[str, str, str, int]:
    """``(model, arch, model_args, scale)`` as trained, from the flags that say it: the variant
    ``model`` (or the default one) with ``model_args`` replacing some of its arguments, or
    ``arch`` from its defaults with ``model_args``. A contradiction stops the run here, before
    any work, with a line that says which flag to leave out."""
    overrides = model_args_object(model_args)
    variant = variant_to_train(model, arch, scale)
    if variant is None:  # something new: --arch and --model-args alone
        name, args, scale = "", {}, scale or 3
    else:
        name, arch, scale = variant.name, variant.architecture, variant.scale
        args = {k: v for k, v in variant.args.items() if k != "scale"}
    if overrides.pop("scale", scale) != scale:
        raise SystemExit(f"--model-args sets another scale than x{scale}: use --scale")
    return name, arch, json.dumps({**args, **overrides}), scale


def model_args_object(text: str) -> dict:
    try:
        args = json.loads(text or "{}")
    except json.JSONDecodeError as error:
        raise SystemExit(f"--model-args is not JSON: {error}") from None
    if not isinstance(args, dict):
        raise SystemExit(f"--model-args must be a JSON object, got {text}")
    return args


def variant_to_train(model: str, arch: str, scale: int) -> Variant | None:
    """The variant ``--model`` names, or with no ``--model`` and no other ``--arch`` the default
    one at ``--scale``; None for an ``--arch`` that no variant stands for. ``--arch`` and
    ``--scale`` beside ``--model`` must agree with it."""
    name = model
    if not name and arch in ("", DEFAULT_MODEL.split("-")[0]):
        name = DEFAULT_MODEL.format(scale=scale or 3)
    if not name:
        return None
    try:
        variant = hubsr.get_variant(name)
    except hubsr.HubSRError as error:
        flag = f"--model {name}" if model else f"--scale {scale or 3} (model {name})"
        raise SystemExit(f"{flag}: {error}") from None
    if arch and arch != variant.architecture:
        raise SystemExit(
            f"--arch {arch} contradicts --model {name}, a {variant.architecture} model; "
            "leave one out"
        )
    if scale and scale != variant.scale:
        same = [
            other.name
            for other in map(hubsr.get_variant, hubsr.list_variants())
            if other.architecture == variant.architecture and other.scale == scale
        ]
        offer = (
            f"x{scale} {variant.architecture} variants: {', '.join(same)}"
            if same
            else f"or --arch {variant.architecture} --scale {scale} without --model"
        )
        raise SystemExit(
            f"--scale {scale} contradicts --model {name}, which is x{variant.scale}; "
            f"leave out --scale, or pick another --model ({offer})"
        )
    return variant


def parse_settings(argv=None) -> Settings:
    """The settings from the command line; a bad one stops here, with one line, before any work."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for f in dataclasses.fields(Settings):
        flag = "--" + f.name.replace("_", "-")
        if isinstance(f.default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=f.default)
        else:
            parser.add_argument(flag, type=type(f.default), default=f.default)
        parser._actions[-1].help = f.metadata["help"] + " (default: %(default)s)"
    preset = parser.parse_known_args(argv)[0].preset
    if preset and preset not in PRESETS:
        parser.error(f"--preset must be one of {', '.join(PRESETS)}, got {preset!r}")
    parser.set_defaults(**PRESETS.get(preset, {}))
    settings = Settings(**vars(parser.parse_args(argv)))
    for problem in setting_problems(settings):
        parser.error(problem)
    return settings


def setting_problems(s: Settings) -> Iterator[str]:
    """What is wrong with the settings, each in one line that says what is accepted."""
    if s.steps <= 0 and s.minutes <= 0:
        yield "give a length: --steps N and/or --minutes M"
    if s.loss not in LOSSES:
        yield f"--loss must be one of {', '.join(LOSSES)}, got {s.loss!r}"
    if s.detail_oversample < 1:
        yield f"--detail-oversample must be 1 or more, got {s.detail_oversample}"
    if s.optimizer not in ("adamw", "muon"):
        yield f"--optimizer must be adamw or muon, got {s.optimizer!r}"
    if not 0.0 <= s.distill_weight <= 1.0:
        yield f"--distill-weight is a share in [0, 1], got {s.distill_weight}"
    if s.teacher_tta not in TEACHER_TTA:
        yield f"--teacher-tta must be one of {', '.join(TEACHER_TTA)}, got {s.teacher_tta!r}"
    if s.teacher_on not in TEACHER_ON:
        yield f"--teacher-on must be one of {', '.join(TEACHER_ON)}, got {s.teacher_on!r}"
    if s.teacher_on == "images" and s.teacher_tta == "random":
        yield (
            "--teacher-on images computes the teacher's SR once per image: use --teacher-tta x8 "
            "(its self-ensemble) or none; random draws a view per batch"
        )
    if s.degrade not in RECIPES:
        yield f"--degrade must be one of {', '.join(RECIPES)}, got {s.degrade!r}"
    if s.degrade != "none" and s.teacher:
        yield "--teacher sees the LR patches; it is not combined with --degrade"
    unknown = set(s.eval_degradations.split(",")) - set(DEGRADATIONS)
    if unknown or not s.eval_degradations:
        yield (
            f"--eval-degradations takes names from {', '.join(DEGRADATIONS)}, "
            f"got {s.eval_degradations!r}"
        )
    if s.flat_colours < 0 or s.flat_weight < 0:
        yield "--flat-colours and --flat-weight must be 0 or more"
    if not 0 <= s.flat_hard <= s.flat_colours:
        yield "--flat-hard must be between 0 and --flat-colours"
    if s.flat_seeds and not s.flat_hard:
        yield "--flat-seeds needs --flat-hard: the seeds join the hard colours' mining pool"
    elif s.flat_seeds and not Path(s.flat_seeds).is_file():
        yield f"--flat-seeds: no such file: {s.flat_seeds}"
    if not 0.0 <= s.l2_tail < 1.0:
        yield f"--l2-tail is a fraction of training in [0, 1), got {s.l2_tail}"


def main(argv=None) -> None:
    """Train one model, phase by phase; each phase is a function below, in this order."""
    s = parse_settings(argv)
    code = code_version(REPO)  # read now, not at the end: the checkout may change meanwhile
    accelerator = start_accelerator(s)
    teacher = None
    if s.teacher:  # loaded before any work: a teacher that does not fit stops the run at once
        teacher = load_teacher(s.teacher, s.scale, accelerator.device, s.channels_last)
    data = prepare_data(s, accelerator, teacher)
    if data is None:  # --prepare-data: the caches were the whole job
        return
    resuming = s.resume and checkpoint_folder(s).is_dir()
    trainee = build_model(s, accelerator, warm_start=not resuming)
    open_output(s, accelerator, trainee.state, resuming)
    train(s, accelerator, data, trainee)
    results = final_evaluation(s, accelerator, data.eval_sets)
    if accelerator.is_main_process:
        write_model_folder(s, accelerator, trainee, results, code)
    accelerator.end_training()


# -- the phases, in the order main() runs them ----------------------------------------------------
def start_accelerator(s: Settings) -> Accelerator:
    """Accelerate for this machine, threads and seed set. Without a GPU it is asked for the CPU,
    so that several processes run as MULTI_CPU (gloo)."""
    if s.threads:
        torch.set_num_threads(s.threads)
    precision = resolve_precision(s.mixed_precision)
    no_accelerator = not (torch.cuda.is_available() or torch.backends.mps.is_available())
    accelerator = Accelerator(mixed_precision=precision, cpu=no_accelerator)
    torch.backends.cudnn.benchmark = True  # patch shapes are fixed: pick the fastest kernels once
    set_seed(s.seed)
    return accelerator


@dataclass
class Data:
    """What the loop and the evaluations draw from."""

    sampler: PairSampler  # (LR, HR[, teacher's SR]) patch pairs of the training pyramid
    eval_sets: dict[str, list]  # Set5 (--eval-dir) once per --eval-degradations name
    recipe: PhotoRecipe | None  # the --degrade recipe applied to every batch; None: clean LR
    teacher: torch.nn.Module | None  # run on every batch; None: no teacher, or cut with patches
    flat: FlatColours | None  # each step's --flat-colours; None: none


def prepare_data(s: Settings, accelerator, teacher) -> Data | None:
    """The HR images' dataset and their down-scaled pyramid, cached on disk (one process builds
    them, the others reuse them), with --teacher-on images the teacher's SR of each pyramid
    image too; then the patch sampler and the selection sets. None with --prepare-data, which
    stops once the caches are built."""
    factors = [float(f) for f in s.scale_aug.split(",") if f]
    with accelerator.main_process_first():
        dataset = build_dataset(split_dirs(s.train_dirs), REPO / s.cache_dir)
        images = [to_rgb_uint8(row["image"]) for row in dataset]
        # The dataset's folder is named by the images' content; the pyramid file by the rest.
        dataset_dir = Path(dataset.cache_files[0]["filename"]).parent
        pyramid_file = dataset_dir / f"pyramid-x{s.scale}-{'-'.join(map(str, factors))}.npz"
        workers = s.workers or min(8, os.cpu_count() or 1)
        pyramid = cached_pyramid(images, s.scale, factors, pyramid_file, workers)
        targets, caches = None, [pyramid_file.name]
        if teacher is not None and s.teacher_on == "images":
            # Named by the pyramid, the teacher's weights and its ensemble: any change rebuilds.
            targets_file = pyramid_file.with_name(
                f"{pyramid_file.stem}-teacher-{weights_digest(teacher)}-{s.teacher_tta}.npz"
            )
            targets = cached_teacher_images(teacher, pyramid, s.teacher_tta, targets_file)
            teacher = None  # its work is done: the sampler cuts its SR with the HR patches
            caches.append(targets_file.name)
    if s.prepare_data:
        accelerator.print(f"data caches ready: {dataset_dir}, {', '.join(caches)}")
        return None
    sampler = PairSampler(pyramid, s.scale, s.patch, device=accelerator.device, targets=targets)
    eval_pairs = benchmark_pairs(split_dirs(s.eval_dir)[0], s.scale)
    eval_sets = degraded_sets(eval_pairs, s.eval_degradations.split(","))
    accelerator.print(
        f"data: {len(images)} images -> {len(sampler)} HR/LR pairs at factors {factors}; "
        f"{accelerator.num_processes} process(es) on {accelerator.device}, "
        f"precision {accelerator.mixed_precision}"
    )
    flat = None
    if s.flat_colours:
        seeds = load_flat_seeds(Path(s.flat_seeds)) if s.flat_seeds else None
        flat = FlatColours(s.flat_colours, s.flat_hard, seeds=seeds)
    return Data(sampler, eval_sets, RECIPES[s.degrade], teacher, flat)


@dataclass
class Trainee:
    """The model and what updates it, as Accelerate prepared them."""

    model: torch.nn.Module  # as prepared (wrapped for several processes)
    raw_model: torch.nn.Module  # the plain module: the EMA follows it
    forward: Callable  # the model, or its torch.compile
    optimizers: list[torch.optim.Optimizer]
    ema: ModelEmaV3  # its .module is what is evaluated and saved
    state: TrainState
    model_args: dict  # the constructor's arguments, scale included
    params: int


def build_model(s: Settings, accelerator, warm_start: bool) -> Trainee:
    """The model the settings name, from --init-from's weights when ``warm_start`` (a resumed
    run's checkpoint holds them instead), its optimizers and EMA, prepared by Accelerate and,
    with the training state, registered for checkpointing."""
    model_args = {**json.loads(s.model_args), "scale": s.scale}
    model = hubsr.get_architecture(s.arch)(**model_args)
    if s.init_from and warm_start:
        skip = tuple(prefix for prefix in s.init_skip.split(",") if prefix)
        fresh = load_warm_start(model, Path(s.init_from), skip)
        accelerator.print(
            f"weights from {s.init_from} (warm start)"
            + (f"; freshly initialised: {', '.join(fresh)}" if fresh else "")
        )
    params = sum(p.numel() for p in model.parameters())
    if s.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizers = make_optimizers(model, s, fused=accelerator.device.type == "cuda")
    model, *optimizers = accelerator.prepare(model, *optimizers)
    raw_model = accelerator.unwrap_model(model)
    ema = ModelEmaV3(raw_model, decay=s.ema, use_warmup=True)
    forward = torch.compile(model) if s.compile else model
    state = TrainState()
    accelerator.register_for_checkpointing(ema, state)
    return Trainee(model, raw_model, forward, optimizers, ema, state, model_args, params)


def open_output(s: Settings, accelerator, state: TrainState, resuming: bool) -> None:
    """A fresh run refuses an output folder that holds anything, then starts it with its
    settings, its code and an empty log; a resumed run loads the checkpoint (model, EMA,
    optimizers, RNG, TrainState) and forgets the log lines of the steps it will redo."""
    out = Path(s.output)
    if not resuming and out.exists() and any(out.iterdir()):
        raise SystemExit(f"{out} is not empty; pass --resume or choose another --output")
    accelerator.wait_for_everyone()  # every process has looked before anything is written
    if resuming:
        accelerator.load_state(str(checkpoint_folder(s)))
        accelerator.print(f"resumed from {checkpoint_folder(s)} at step {state.step}")
        if accelerator.is_main_process:
            lines = (out / "metrics.jsonl").read_text().splitlines()
            kept = [x for x in lines if x.strip() and json.loads(x)["step"] <= state.step]
            (out / "metrics.jsonl").write_text("".join(line + "\n" for line in kept))
    elif accelerator.is_main_process:
        out.mkdir(parents=True, exist_ok=True)
        (out / "train_config.json").write_text(json.dumps(dataclasses.asdict(s), indent=2))
        (out / "code").mkdir()  # not among the model folder's artifacts (hubsr.record.ARTIFACTS)
        for script in RUN_CODE:
            shutil.copy2(Path(__file__).with_name(script), out / "code" / script)
        (out / "metrics.jsonl").write_text("")
        (out / "command.txt").write_text(launch_command(accelerator.num_processes) + "\n")
    accelerator.wait_for_everyone()


def launch_command(processes: int) -> str:
    """The command that started this run, as one would type it again (records keep it)."""
    launcher = "python" if processes == 1 else f"accelerate launch --num_processes {processes}"
    return f"{launcher} training/train.py {shlex.join(sys.argv[1:])}"


def train(s: Settings, accelerator, data: Data, trainee: Trainee) -> None:
    """The loop, until --steps or --minutes run out (the schedule follows whichever ends first):
    a step per batch; every ``log_every`` steps a log line; every ``eval_every`` steps and at
    the end, Set5 and a checkpoint; at the end, the last EMA weights in ``output/last``. Only
    the steps are timed: snapshots, evaluation and logging stay outside the clock."""
    state, out = trainee.state, Path(s.output)
    generator = patch_generator(s, accelerator, state)
    log = LogWindow(accelerator, state)
    snapshots = SnapshotTimer(s.snapshot_every, state)
    clock = Clock(accelerator, state)
    trainee.model.train()
    while progress(state, s) < 1.0:
        lr = get_lr(progress(state, s), s)
        for optimizer in trainee.optimizers:
            for group in optimizer.param_groups:
                group["lr"] = lr
        # L1 learns faster from scratch; a low-lr L2 tail then aims at PSNR itself.
        loss_fn = LOSSES["l2" if progress(state, s) >= 1.0 - s.l2_tail else s.loss]
        loss, lr_batch = train_step(s, accelerator, data, trainee, loss_fn, generator)
        log.add(loss)
        if state.step % 10 == 0:
            clock.sync()
            if snapshots.due():
                if accelerator.is_main_process:
                    save_snapshot(trainee.ema.module, out / "snapshots", state)
                clock.restart()
        at_eval = state.step % s.eval_every == 0
        if state.step % s.log_every == 0 or at_eval or progress(state, s) >= 1.0:
            clock.sync()
            record, line = log.close(s, lr, loss_fn)
            if at_eval or progress(state, s) >= 1.0:
                generator = patch_generator(s, accelerator, state)
                evaluate_and_checkpoint(
                    trainee, lr_batch, data.eval_sets, s, accelerator, record, line
                )
            else:
                log_metrics(accelerator, out, record, line)
            clock.restart()
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        atomic_save_model(trainee.ema.module, out / "last")
    accelerator.wait_for_everyone()


def train_step(s: Settings, accelerator, data: Data, trainee: Trainee, loss_fn, generator):
    """One optimisation step on a fresh batch; returns its (detached) loss and LR batch."""
    # (lr, hr), or (lr, hr, the teacher's SR) with --teacher-on images
    drawn = data.sampler.sample(s.batch * s.detail_oversample, generator)
    if s.detail_oversample > 1:
        drawn = keep_detailed(s.batch, *drawn)
    lr_batch, hr_batch = drawn[:2]
    if data.recipe is not None:  # after keep_detailed: rank patches by content, not by noise
        lr_batch = degrade_batch(hr_batch, lr_batch, s.scale, data.recipe, generator)
    if s.channels_last:
        lr_batch = lr_batch.contiguous(memory_format=torch.channels_last)
    sr_batch = trainee.forward(lr_batch).float()
    loss = loss_fn(sr_batch, hr_batch)
    if s.teacher:  # the teacher's output is a target without the HR image's noise
        if data.teacher is None:  # --teacher-on images: cut from its SR of the whole image
            taught = drawn[2]
        else:
            with torch.no_grad(), accelerator.autocast():
                taught = teacher_target(data.teacher, lr_batch, s.teacher_tta, generator).float()
        w = s.distill_weight
        loss = (1 - w) * loss + w * loss_fn(sr_batch, taught)
    if data.flat is not None:  # the raw module: its convolutions pad circularly for this forward
        colours = data.flat.sample(trainee.raw_model, generator).to(accelerator.device)
        with accelerator.autocast():
            flat = flat_colour_loss(trainee.raw_model, colours, loss_fn)
        loss = loss + s.flat_weight * flat
    accelerator.backward(loss)
    if s.grad_clip > 0:
        accelerator.clip_grad_norm_(trainee.model.parameters(), s.grad_clip)
    for optimizer in trainee.optimizers:
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    trainee.ema.update(trainee.raw_model, step=trainee.state.step)
    trainee.state.step += 1
    return loss.detach(), lr_batch


def final_evaluation(s: Settings, accelerator, eval_sets: dict[str, list]) -> dict[str, dict]:
    """The best Set5 step's EMA weights (``output/best``) on Set5 and each --test-dirs set, once
    per --eval-degradations name (``set5`` clean, ``set5-jpeg50`` degraded): the card's numbers."""
    best = hubsr.HubSR.from_pretrained(Path(s.output) / "best", map_location=accelerator.device)
    sets = {"set5": eval_sets}
    for folder in split_dirs(s.test_dirs):
        pairs = benchmark_pairs(folder, s.scale)
        sets[folder.name.lower()] = degraded_sets(pairs, s.eval_degradations.split(","))
    results = {}
    for set_name, by_degradation in sets.items():
        for d, pairs in by_degradation.items():
            key = set_name if d == "clean" else f"{set_name}-{d}"
            results[key] = evaluate(best, pairs, s.scale, accelerator)
    return results


def write_model_folder(s: Settings, accelerator, trainee: Trainee, results, code: dict) -> None:
    """The output folder as a model folder: the best weights and config, the run's summary
    (``train_summary.json``), the training curve and the card (``hubsr card`` adds more)."""
    out = Path(s.output)
    for name in ("config.json", "model.safetensors"):
        shutil.copy2(out / "best" / name, out / name)
    state = trainee.state
    summary = TrainSummary(
        arch=s.arch,
        model_args=trainee.model_args,
        params=trainee.params,
        best_step=state.best_step,
        steps=state.step,
        train_seconds=state.elapsed,
        device=torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
        processes=accelerator.num_processes,
        mixed_precision=accelerator.mixed_precision,
        init_from=s.init_from or None,  # a warm start adds that model's training
        init_skip=s.init_skip or None,
        teacher=s.teacher or None,
        distill_weight=s.distill_weight if s.teacher else None,
        teacher_tta=s.teacher_tta if s.teacher else None,
        teacher_on=s.teacher_on if s.teacher else None,
        torch=torch.__version__,
        results={k: {"psnr": v["psnr"], "ssim": v["ssim"]} for k, v in results.items()},
        **code,
    )
    (out / "train_summary.json").write_text(summary.to_json())
    plot_curve(out / "metrics.jsonl", out / "training_curve.png")
    write_card(out, train_summary=summary)
    accelerator.print(json.dumps(summary.results))


# -- the loop's tools -----------------------------------------------------------------------------
class TrainState:
    """Step, training seconds and best Set5 score: checkpointed with the model."""

    def __init__(self):
        self.step, self.elapsed, self.best_psnr, self.best_step = 0, 0.0, -1.0, 0

    def state_dict(self):
        return dict(vars(self))

    def load_state_dict(self, state):
        vars(self).update(state)


def progress(state: TrainState, s: Settings) -> float:
    """How far training is, from 0 to 1: by steps or by training minutes, whichever is further."""
    by_steps = state.step / s.steps if s.steps > 0 else 0.0
    by_time = state.elapsed / (60 * s.minutes) if s.minutes > 0 else 0.0
    return max(by_steps, by_time)


def get_lr(progress: float, s: Settings) -> float:
    """Linear warm-up, then cosine decay from ``s.lr`` to ``s.min_lr * s.lr``."""
    if progress < s.warmup:
        return s.lr * (progress + 1e-3) / s.warmup
    t = min(1.0, (progress - s.warmup) / max(1e-8, 1 - s.warmup))
    return s.lr * (s.min_lr + (1 - s.min_lr) * 0.5 * (1 + math.cos(math.pi * t)))


def patch_generator(s: Settings, accelerator, state: TrainState) -> torch.Generator:
    """The patch-drawing stream from this step on, one per process. The loop asks for a new one
    at every checkpoint, so a resumed run draws the same patches as an uninterrupted one."""
    return torch.Generator().manual_seed(
        s.seed * 100003 + accelerator.process_index * 7919 + state.step
    )


class Clock:
    """Training seconds, kept in ``state.elapsed``: :meth:`sync` adds the time since the last
    mark (all processes agree on the slowest), :meth:`restart` leaves out what ran since."""

    def __init__(self, accelerator, state: TrainState):
        self.accelerator, self.state, self.mark = accelerator, state, time.perf_counter()

    def sync(self) -> None:
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        now = time.perf_counter()
        delta = torch.tensor(now - self.mark, device=self.accelerator.device)
        self.state.elapsed += float(self.accelerator.reduce(delta, reduction="max"))
        self.mark = now

    def restart(self) -> None:
        self.mark = time.perf_counter()


class SnapshotTimer:
    """When the next ``--snapshot-every`` EMA snapshot is due, in training seconds."""

    def __init__(self, every: float, state: TrainState):
        self.every, self.state = every, state
        self.next = self._after_now() if every else 0.0

    def _after_now(self) -> float:
        return (self.state.elapsed // self.every + 1) * self.every

    def due(self) -> bool:
        """True once per interval, when the clock has passed it (then the next one is set)."""
        if self.every <= 0 or self.state.elapsed < self.next:
            return False
        self.next = self._after_now()
        return True


class LogWindow:
    """The steps since the last log line: their summed loss and, since the start, how many
    losses were not finite, kept on the device (no synchronisation per step)."""

    def __init__(self, accelerator, state: TrainState):
        self.accelerator, self.state = accelerator, state
        self.loss = torch.zeros((), device=accelerator.device)
        self.nonfinite = torch.zeros((), device=accelerator.device)
        self.start_step, self.start_time = state.step, state.elapsed

    def add(self, loss: torch.Tensor) -> None:
        self.nonfinite += (~torch.isfinite(loss)).float()
        self.loss += loss

    def close(self, s: Settings, lr: float, loss_fn) -> tuple[dict, str]:
        """The window's ``metrics.jsonl`` record and greppable log line, then a new window; a
        stop (the last good checkpoint named) if any loss so far was not finite."""
        state, accelerator = self.state, self.accelerator
        if float(accelerator.reduce(self.nonfinite, reduction="sum")) > 0:
            raise SystemExit(
                f"step {state.step}: the loss is NaN or infinite (lr {lr:.2e}); stopping. "
                f"The last good checkpoint is {checkpoint_folder(s)} (resume with --resume, "
                "e.g. with a lower --lr)."
            )
        steps = state.step - self.start_step
        mean_loss = float(accelerator.reduce(self.loss, reduction="mean")) / steps
        its = steps / max(1e-9, state.elapsed - self.start_time)
        record = {"step": state.step, "loss": mean_loss, "loss_fn": loss_fn.__name__, "lr": lr}
        record["it_s"] = its
        record["img_s"] = its * s.batch * accelerator.num_processes
        record["elapsed_s"] = state.elapsed
        done = max(progress(state, s), 1e-9)
        total = s.steps if s.steps > 0 else f"~{state.step / done:.0f}"
        left = max(0.0, 1 - progress(state, s)) * (state.elapsed / done)
        line = (
            f"step:{state.step}/{total} loss:{mean_loss:.4f} lr:{lr:.2e} it/s:{its:.1f} "
            f"eta:{left / 60:.0f}m time:{state.elapsed:.0f}s"
        )
        self.loss.zero_()
        self.start_step, self.start_time = state.step, state.elapsed
        return record, line


def log_metrics(accelerator: Accelerator, out: Path, record: dict, line: str) -> None:
    """One greppable log line on stdout and one JSON line in ``out/metrics.jsonl``."""
    accelerator.print(line, flush=True)
    if accelerator.is_main_process:
        with open(out / "metrics.jsonl", "a") as f:
            f.write(json.dumps(record) + "\n")


def evaluate_and_checkpoint(
    trainee: Trainee, batch, eval_sets, s: Settings, accelerator, record: dict, line: str
) -> None:
    """What every ``eval_every`` steps (and the last step) does: Set5 on the EMA weights by the
    library's protocol (the mean over ``--eval-degradations``), the best-so-far model folder,
    the replica check, the log line, then the full checkpoint. ``--stop-at`` (tests) dies here,
    right after the checkpoint."""
    state, ema_model = trainee.state, trainee.ema.module
    ema_model.eval()
    result = evaluate_degraded(ema_model, eval_sets, s.scale, accelerator)
    record["set5_psnr"], record["set5_ssim"] = result["psnr"], result["ssim"]
    record["flat_error"] = worst_flat_error(ema_model)[0]  # levels, endless flat, 343 colours
    if len(eval_sets) > 1:
        for d, r in result["by_degradation"].items():
            record[f"set5_{d}_psnr"] = r["psnr"]
    if result["psnr"] > state.best_psnr:  # every process agrees: results are gathered
        state.best_psnr, state.best_step = result["psnr"], state.step
        if accelerator.is_main_process:
            atomic_save_model(ema_model, Path(s.output) / "best")
    record.update(replica_check(trainee.raw_model, batch, accelerator))
    log_metrics(accelerator, Path(s.output), record, f"{line} set5:{result['psnr']:.2f}")
    save_checkpoint(accelerator, checkpoint_folder(s))
    if state.step == s.stop_at:
        accelerator.print(f"--stop-at {s.stop_at}: exiting without cleanup", flush=True)
        os._exit(1)


def checkpoint_folder(s: Settings) -> Path:
    return Path(s.output) / "checkpoint"


# -- settings, data, model and saving tools -------------------------------------------------------
def resolve_precision(mixed_precision: str) -> str:
    """Accelerate's ``mixed_precision`` for ``--mixed-precision``: ``auto`` is bf16 on CUDA and
    on a CPU with bf16 matrix units (there it trains ~2-4x faster), float32 (``no``) elsewhere."""
    if mixed_precision != "auto":
        return mixed_precision
    if torch.cuda.is_available():
        device = torch.device("cuda")
    else:
        device = torch.device("mps" if torch.backends.mps.is_available() else "cpu")
    return "bf16" if default_amp_dtype(device, bf16_safe=True) is torch.bfloat16 else "no"


def make_optimizers(model, s: Settings, fused: bool) -> list[torch.optim.Optimizer]:
    """AdamW over everything, or Muon over the hidden filters and AdamW over the rest (biases,
    and the first and last layers, which map to and from pixels rather than features, as does
    a path from pixels straight to pixels such as ABPN's linear skip)."""
    params = list(model.parameters())
    filters = [
        p
        for name, p in model.named_parameters()
        if p.ndim >= 2 and not name.startswith(PIXEL_PATHS)
    ]
    muon_params = filters[1:-1] if s.optimizer == "muon" else []
    on_muon = {id(p) for p in muon_params}
    adamw = torch.optim.AdamW(
        [p for p in params if id(p) not in on_muon],
        lr=s.lr,
        betas=(0.9, s.beta2),
        weight_decay=s.weight_decay,
        fused=fused,  # one kernel for the whole update
    )
    if not muon_params:
        return [adamw]
    return [adamw, ConvMuon(muon_params, lr=s.lr, rms=0.2 * s.muon_scale)]


def split_dirs(text: str) -> list[Path]:
    return [REPO / d if not Path(d).is_absolute() else Path(d) for d in text.split(",") if d]


def benchmark_pairs(folder: Path, scale: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, HR cropped to a multiple of scale, its uint8 LR) for every image in ``folder``,
    by the benchmark protocol; made once, evaluated many times."""
    pairs = []
    for name, hr in load_rgb_images(folder):
        hr = modcrop(hr, scale)
        pairs.append((name, hr, make_lr(hr, scale)))
    return pairs


def degraded_sets(pairs, names: list[str]) -> dict[str, list]:
    """``pairs`` (from :func:`benchmark_pairs`) once per degradation, the LR images degraded
    by :func:`hubsr.degradations.degrade` (seeded by image name): the sets a photo model is
    selected on, exactly as ``hubsr benchmark --degradation`` measures them."""
    return {d: [(n, hr, degrade(lr, d, key=n)) for n, hr, lr in pairs] for d in names}


def evaluate_degraded(model, sets: dict[str, list], scale: int, accelerator) -> dict:
    """:func:`evaluate` on each degraded set; ``psnr``/``ssim`` are the means over the sets
    (the selection score) and ``by_degradation`` holds each set's result."""
    each = {d: evaluate(model, pairs, scale, accelerator) for d, pairs in sets.items()}
    return {
        "psnr": float(np.mean([r["psnr"] for r in each.values()])),
        "ssim": float(np.mean([r["ssim"] for r in each.values()])),
        "by_degradation": each,
    }


def evaluate(model, pairs, scale: int, accelerator) -> dict[str, float]:
    """Mean PSNR/SSIM over ``pairs`` (from :func:`benchmark_pairs`), each process a share, by
    the library's path: ``model.upscale`` in float32 with the protocol's zero border (its one
    rounding to uint8, as ``hubsr benchmark`` measures) and :func:`hubsr.protocol.score`."""
    results = []
    with accelerator.split_between_processes(list(pairs)) as share:
        for name, hr, lr in share:
            sr = model.upscale(lr, dtype="float32", max_pixels=None, border=PROTOCOL_BORDER)
            results.append((name, score(sr, hr, scale)))
    results = gather_object(results)
    return {
        "psnr": float(np.mean([r["psnr"] for _, r in results])),
        "ssim": float(np.mean([r["ssim"] for _, r in results])),
        "per_image": {n: r for n, r in results},
    }


def replica_check(model, batch, accelerator) -> dict:
    """Per-process sums of the weights and of the last input batch: replicas must agree on the
    first and (with several processes) differ on the second."""
    weights = torch.stack([p.detach().double().sum() for p in model.parameters()]).sum()
    sums = torch.stack([weights, batch.detach().double().sum()])
    gathered = accelerator.gather(sums[None]).cpu().tolist()
    return {"weight_sums": [g[0] for g in gathered], "batch_sums": [g[1] for g in gathered]}


def load_warm_start(model, folder: Path, skip: tuple[str, ...] = ()) -> list[str]:
    """Start from the weights of a model folder: every tensor, same names and shapes, except the
    ones under a ``skip`` prefix, which keep their fresh initialisation. Returns those names."""
    weights = folder / "model.safetensors"
    if not weights.is_file():
        raise SystemExit(f"--init-from {folder}: no model.safetensors there")
    own = model.state_dict()
    skipped = [name for name in own if name.startswith(skip)] if skip else []
    if skip and not skipped:
        raise SystemExit(f"--init-skip {','.join(skip)}: no parameter of the model starts so")
    source = {k: v for k, v in load_file(weights).items() if not (skip and k.startswith(skip))}
    try:
        model.load_state_dict({**{k: own[k] for k in skipped}, **source}, strict=True)
    except RuntimeError as error:  # missing, unexpected or differently shaped tensors
        problem = f"--init-from {folder} does not fit --arch/--model-args: {error}"
        raise SystemExit(problem) from None
    return skipped


def load_teacher(spec: str, scale: int, device, channels_last: bool = False) -> torch.nn.Module:
    """The frozen ``--teacher`` model, in eval mode (and the batches' memory format); a clear
    stop for one that does not load or upscales by another factor than the run."""
    try:
        teacher = hubsr.HubSR.from_pretrained(spec, map_location=device)
    except hubsr.HubSRError as error:
        raise SystemExit(f"--teacher {spec}: {error}") from None
    if teacher.scale != scale:
        raise SystemExit(
            f"--teacher {spec} upscales x{teacher.scale}, but the run trains x{scale}: "
            "the teacher must have the run's scale"
        )
    teacher = teacher.eval().requires_grad_(False)
    return teacher.to(memory_format=torch.channels_last) if channels_last else teacher


def atomic_save_model(model, folder: Path) -> None:
    """Save a model folder so that a reader sees the old one or the new one, never half."""
    with atomic_folder(folder) as partial:
        model.save_pretrained(partial)
        (partial / "README.md").unlink(missing_ok=True)  # the real card is written at the end


def save_snapshot(model, folder: Path, state: TrainState) -> None:
    """The EMA weights at this moment of training time, for time-to-quality curves measured
    afterwards (``training/time_to_psnr.py``); the file name and metadata carry time and step."""
    weights = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    meta = {"elapsed_s": f"{state.elapsed:.3f}", "step": str(state.step)}
    name = f"t{state.elapsed:08.2f}s-step{state.step:07d}.safetensors"
    with atomic_file(folder / name) as tmp:  # folder is made if needed
        save_file(weights, tmp, metadata=meta)


def save_checkpoint(accelerator: Accelerator, folder: Path) -> None:
    """accelerate's full state (model, EMA, optimizer, RNG, TrainState), written atomically:
    every process writes its part into the partial folder, the main one swaps it in."""
    partial = partial_folder(folder)
    if accelerator.is_main_process:
        shutil.rmtree(partial, ignore_errors=True)  # left by a killed run
    accelerator.wait_for_everyone()
    accelerator.save_state(str(partial))
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        swap_in(partial, folder)
    accelerator.wait_for_everyone()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
