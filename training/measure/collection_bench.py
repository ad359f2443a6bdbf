"""The targets of issue #45 (whole collections), measured: memory over many files, a kill and a
resume, one process against two, and a video.

    python training/measure/collection_bench.py tree    --root /tmp/hubsr-bench   # 2,000 images
    python training/measure/collection_bench.py rss     --root /tmp/hubsr-bench   # RSS per file
    python training/measure/collection_bench.py resume  --root /tmp/hubsr-bench   # SIGKILL, resume
    python training/measure/collection_bench.py processes --root /tmp/hubsr-bench --count 300
    python training/measure/collection_bench.py video   --root /tmp/hubsr-bench --seconds 10

Every run is ``hubsr upscale`` as a user runs it (a subprocess, the bundled fast x2 model
abpn-x2 in the default precision) and prints greppable ``key:value`` lines. ``rss`` samples the
process's VmRSS from /proc every 0.1 s beside the number of results written so far, and compares
the peak of the first 100 files with the peak of the last 100 (the command bounds its kernel
caches and hands freed memory back after each file: :func:`hubsr.collections_io.release_memory`).
``resume`` kills the command with
SIGKILL after a random number of results, resumes it with ``--skip-existing`` and compares every
result with those of ``rss``'s uninterrupted run, byte for byte. ``processes`` runs the same
inputs with one process and with two (``accelerate launch --multi_gpu``, CPU), one thread each.
``video`` makes a moving clip (854x480 by default) at 30 fps with an AAC track and upscales it
x2, then writes what it measured to ``--json``.
Timings depend on the load: say which machine and what else ran.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import resource
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image

from cpu_speed import cpu_name  # a sibling: a script's folder is importable

REPO = Path(__file__).resolve().parents[2]
MODEL = ["--model", "abpn-x2"]
ENV = {**os.environ, "HF_HUB_OFFLINE": "1"}
ONE_THREAD = {**ENV, "OMP_NUM_THREADS": "1"}


def hubsr(*args: str) -> list[str]:
    return [sys.executable, "-m", "hubsr.cli", "upscale", *args]


def results(folder: Path) -> dict[str, bytes]:
    """Every visible result under ``folder`` by relative path (temporaries are hidden)."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    }


def count_results(folder: Path) -> int:
    count = 0
    for _, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        count += sum(not n.startswith(".") for n in names)
    return count


def leftovers(folder: Path) -> list[str]:
    """Hidden temporary files (``.NAME.<hex>.tmp``) under ``folder``: a killed writer's."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob(".*.tmp"))


# -- tree ---------------------------------------------------------------------------------------
def make_tree(root: Path, count: int, seed: int = 0) -> Path:
    """``count`` crops (48..96 px a side) of the T91 images in a 3-level tree
    ``tree/aN/bN/cN/``, 10 files per leaf folder; every seventh a JPEG (its result: a PNG)."""
    tree = root / "tree"
    if tree.exists() and count_results(tree) == count:
        return tree
    rng = random.Random(seed)
    sources = [Image.open(p).convert("RGB") for p in sorted((REPO / "data" / "T91").glob("*"))]
    for i in range(count):
        leaf = tree / f"a{i // 200}" / f"b{i // 20 % 10}" / f"c{i // 10 % 2}"
        leaf.mkdir(parents=True, exist_ok=True)
        src = rng.choice(sources)
        w, h = rng.randint(48, 96), rng.randint(48, 96)
        w, h = min(w, src.width), min(h, src.height)
        x, y = rng.randint(0, src.width - w), rng.randint(0, src.height - h)
        crop = src.crop((x, y, x + w, y + h))
        crop.save(leaf / (f"img{i:04d}.jpg" if i % 7 == 0 else f"img{i:04d}.png"), quality=90)
    return tree


# -- rss ------------------------------------------------------------------------------------------
def run_sampled(cmd: list[str], out: Path, env, kill_after: int | None = None):
    """Run ``cmd``, sampling its RSS and the results written every 0.1 s; SIGKILL it once
    ``kill_after`` results exist. Returns (samples [(done, rss_kib)], returncode, stderr)."""
    log = out.with_name(out.name + ".log")
    # Also as they come, so that a run stopped early still says how far the RSS went.
    trace = out.with_name(out.name + ".rss.csv")
    with open(log, "w") as err, open(trace, "w", buffering=1) as csv:
        proc = subprocess.Popen(cmd, env=env, stderr=err, stdout=subprocess.DEVNULL)
        samples = []
        while proc.poll() is None:
            try:
                status = Path(f"/proc/{proc.pid}/status").read_text()
            except OSError:
                break
            found = re.search(r"VmRSS:\s+(\d+)", status)
            if found is None:  # exiting: its memory is gone already
                break
            rss = int(found.group(1))
            done = count_results(out) if out.exists() else 0
            samples.append((done, rss))
            csv.write(f"{done},{rss}\n")
            if kill_after is not None and done >= kill_after:
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.1)
        code = proc.wait()
    return samples, code, log.read_text()


def save(record: dict, path: Path | None) -> None:
    """``record`` as JSON at ``path`` (if given), with the machine and its load named."""
    if path is None:
        return
    record |= {
        "machine": f"{cpu_name()}, {os.cpu_count()} cores",
        "load_average_at_end": os.getloadavg(),
        "python": platform.python_version(),
        "command": " ".join(sys.argv),
    }
    path.write_text(json.dumps(record, indent=2) + "\n")
    print(f"saved:{path}")


def rss(root: Path, count: int, record: Path | None) -> None:
    tree, out = make_tree(root, count), root / "whole"
    if out.exists():
        raise SystemExit(f"{out} exists: remove it for a fresh run")
    command = hubsr(str(tree), "-o", str(out), "-r", *MODEL)
    start = time.perf_counter()
    samples, code, err = run_sampled(command, out, ENV)
    seconds = time.perf_counter() - start
    assert code == 0, err[-2000:]
    first = [r for d, r in samples if 1 <= d <= 100]
    last = [r for d, r in samples if count - 100 <= d < count]
    print(next(line for line in err.splitlines() if "running on" in line))
    print(f"files:{count_results(out)} seconds:{seconds:.1f}", end=" ")
    print(f"images_per_s:{count / seconds:.2f}")
    print(f"rss_peak_first100_mib:{max(first) / 1024:.1f}", end=" ")
    print(f"rss_peak_last100_mib:{max(last) / 1024:.1f}")
    print(f"rss_last_over_first:{max(last) / max(first):.3f} samples:{len(samples)}")
    # RSS at each tenth of the run: a leak shows as a rising line
    tenths = {}
    for tenth in range(1, 11):
        low, high = (tenth - 1) * count // 10, min(tenth * count // 10, count - 1)
        window = [r for d, r in samples if low < d <= high]  # not the exit, after the last
        if window:
            tenths[tenth * count // 10] = round(max(window) / 1024, 1)
            print(f"rss_mib_upto_file_{tenth * count // 10}:{tenths[tenth * count // 10]}")
    save(
        {
            "target": "peak RSS of the last 100 files within 10% of the first 100's",
            "files": count,
            "model": MODEL[1],
            "running_on": next(line for line in err.splitlines() if "running on" in line),
            "seconds": round(seconds, 1),
            "rss_peak_first100_mib": round(max(first) / 1024, 1),
            "rss_peak_last100_mib": round(max(last) / 1024, 1),
            "rss_last_over_first": round(max(last) / max(first), 3),
            "rss_peak_mib_by_tenth": tenths,
        },
        record,
    )


# -- resume ---------------------------------------------------------------------------------------
def resume(root: Path, count: int, seed: int) -> None:
    tree, whole, out = make_tree(root, count), root / "whole", root / "resumed"
    if not whole.exists():
        raise SystemExit(f"run `rss` first: {whole} is the uninterrupted run to compare with")
    if out.exists():
        raise SystemExit(f"{out} exists: remove it for a fresh run")
    kill_after = random.Random(seed).randint(count // 10, count * 9 // 10)
    cmd = hubsr(str(tree), "-o", str(out), "-r", *MODEL)
    _, code, _ = run_sampled(cmd, out, ENV, kill_after=kill_after)
    present = count_results(out)
    stale = leftovers(out)
    print(f"killed_after:{kill_after} returncode:{code} present_after_kill:{present}")
    print(f"temporaries_left_by_the_kill:{len(stale)} {' '.join(stale[:3])}")
    done = subprocess.run([*cmd, "--skip-existing"], env=ENV, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    print(done.stderr.strip().splitlines()[-1])
    tally = re.search(r"written (\d+), skipped (\d+), failed (\d+)", done.stderr)
    written, skipped, failed = map(int, tally.groups())
    mine, reference = results(out), results(whole)
    same = sum(mine.get(name) == data for name, data in reference.items())
    print(f"written_plus_skipped:{written + skipped} skipped_equals_present:{skipped == present}")
    print(f"outputs:{len(mine)} identical_to_uninterrupted:{same}/{len(reference)}")
    print(f"extra_outputs:{sorted(set(mine) - set(reference))[:3]} failed:{failed}")


# -- processes ------------------------------------------------------------------------------------
def processes(root: Path, count: int) -> None:
    tree = make_tree(root, 2000)
    subset = root / f"subset{count}"
    if not subset.exists():  # the first ``count`` files of the tree, in its layout
        for path in sorted(p for p in tree.rglob("img*"))[:count]:
            target = subset / path.relative_to(tree)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    # bf16 or float32 is timed once per run; fixed here so both runs compute the same
    env = {**ONE_THREAD, "HUBSR_CPU_BF16": os.environ.get("HUBSR_CPU_BF16", "1")}
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu"]
    launch += ["--num_processes", "2", "--num_machines", "1", "--mixed_precision", "no"]
    launch += ["--dynamo_backend", "no", "-m", "hubsr.cli", "upscale"]
    timings = {}
    for name, prefix in (("one", hubsr()), ("two", launch)):
        out = root / f"processes-{name}"
        if out.exists():
            raise SystemExit(f"{out} exists: remove it for a fresh run")
        start = time.perf_counter()
        done = subprocess.run(
            [*prefix, str(subset), "-o", str(out), "-r", *MODEL],
            env=env,
            capture_output=True,
            text=True,
        )
        timings[name] = time.perf_counter() - start
        assert done.returncode == 0, done.stderr[-3000:]
        lines = [line for line in done.stderr.splitlines() if re.search(r"written \d+", line)]
        print(f"{name}: {' | '.join(lines)}")
        print(f"{name}_seconds:{timings[name]:.1f} {name}_images_per_s:{count / timings[name]:.2f}")
    one, two = results(root / "processes-one"), results(root / "processes-two")
    same = sum(two.get(name) == data for name, data in one.items())
    print(f"outputs_one:{len(one)} outputs_two:{len(two)} identical:{same}/{len(one)}")
    print(f"speedup_two_over_one:{timings['one'] / timings['two']:.2f}")


# -- video ----------------------------------------------------------------------------------------
def make_clip(path: Path, seconds: float, fps: int = 30, size=(854, 480)) -> Path:
    """A moving test card (a gradient that scrolls, a square that crosses it) with a 440 Hz
    tone in AAC, ``seconds`` long."""
    import av

    width, height = size
    frames = round(seconds * fps)
    yy, xx = np.mgrid[0:height, 0:width]
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps, options={"crf": "18"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        sound = out.add_stream("aac", rate=48000)
        sound.layout = "stereo"
        for i in range(frames):
            img = np.stack(
                [(xx + 4 * i) % 256, (yy + 2 * i) % 256, ((xx + yy) // 2 + 3 * i) % 256], -1
            ).astype(np.uint8)
            x0 = (i * 7) % (width - 80)
            img[200:280, x0 : x0 + 80] = (255, 255, 255)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")))
        out.mux(stream.encode(None))
        samples = round(48000 * seconds)
        tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(samples) / 48000)).astype(np.float32)
        for start in range(0, samples, 1024):
            block = av.AudioFrame.from_ndarray(
                np.tile(tone[start : start + 1024], (2, 1)), format="fltp", layout="stereo"
            )
            block.sample_rate, block.pts = 48000, start
            out.mux(sound.encode(block))
        out.mux(sound.encode(None))
    return path


def audio_packets(path: Path) -> list[tuple[bytes, Fraction]]:
    import av

    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        return [(bytes(p), p.pts * p.time_base) for p in container.demux(stream) if p.size]


def video(
    root: Path, seconds: float, threads: str | None, model: str, size: str, record: Path | None
) -> None:
    from hubsr.video import probe_video

    root.mkdir(parents=True, exist_ok=True)
    width, height = map(int, size.split("x"))
    clip = root / f"clip{seconds:g}s-{size}.mp4"
    if not clip.exists():
        make_clip(clip, seconds, size=(width, height))
    out = root / f"video-out-{seconds:g}s-{size}-{model}"
    if out.exists():
        raise SystemExit(f"{out} exists: remove it for a fresh run")
    env = {**ENV, "OMP_NUM_THREADS": threads} if threads else ENV
    start, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run(
        hubsr(str(clip), "-o", str(out), "--model", model), env=env, capture_output=True, text=True
    )
    elapsed, cpu = time.perf_counter() - start, _children_cpu() - cpu
    assert done.returncode == 0, done.stderr[-3000:]
    before, after = probe_video(clip), probe_video(out / clip.name)
    print(next(line for line in done.stderr.splitlines() if "running on" in line))
    print(f"input: {before}")
    print(f"output: {after}")
    same_audio = audio_packets(clip) == audio_packets(out / clip.name)
    print(f"frames_kept:{before.frames == after.frames} fps_kept:{before.rate == after.rate}")
    print(f"duration_in:{before.duration:.3f} duration_out:{after.duration:.3f}")
    print(f"audio_packets_identical:{same_audio}")
    print(f"seconds:{elapsed:.1f} frames_per_s:{after.frames / elapsed:.3f} (with model load)")
    # On a shared machine the wall clock counts the others' work too; the CPU time does not.
    print(f"cpu_seconds:{cpu:.1f} frames_per_cpu_s:{after.frames / cpu:.3f}")
    save(
        {
            "target": f"{seconds:g} s of {size} at 30 fps with AAC, x2: frames, fps, duration, "
            "audio kept",
            "model": model,
            "omp_num_threads": threads or "torch's default",
            "running_on": next(line for line in done.stderr.splitlines() if "running on" in line),
            "input": str(before),
            "output": str(after),
            "frames_kept": before.frames == after.frames,
            "fps_kept": before.rate == after.rate,
            "duration_in_s": round(before.duration, 3),
            "duration_out_s": round(after.duration, 3),
            "audio_packets_identical": same_audio,
            "wall_seconds_with_model_load": round(elapsed, 1),
            "frames_per_s_wall": round(after.frames / elapsed, 3),
            "cpu_seconds": round(cpu, 1),
            "frames_per_cpu_s": round(after.frames / cpu, 3),
        },
        record,
    )


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=("tree", "rss", "resume", "processes", "video"))
    parser.add_argument("--root", type=Path, default=Path("/tmp/hubsr-bench"))
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=None, help="resume: the kill point's seed")
    parser.add_argument("--seconds", type=float, default=10.0, help="video: the clip's length")
    parser.add_argument("--threads", help="video: OMP_NUM_THREADS (default: torch's own)")
    parser.add_argument("--model", default="abpn-x2", help="video: the model (default abpn-x2)")
    parser.add_argument("--size", default="854x480", help="video: the clip's WIDTHxHEIGHT")
    parser.add_argument("--json", type=Path, help="rss, video: write the results there")
    args = parser.parse_args()
    if args.what == "tree":
        print(f"tree:{make_tree(args.root, args.count)} files:{args.count}")
    elif args.what == "rss":
        rss(args.root, args.count, args.json)
    elif args.what == "resume":
        resume(args.root, args.count, args.seed if args.seed is not None else time.time_ns())
    elif args.what == "processes":
        processes(args.root, args.count)
    else:
        video(args.root, args.seconds, args.threads, args.model, args.size, args.json)


if __name__ == "__main__":
    main()
