"""Named recipes for ``train.py --preset NAME``: settings that replace train.py's defaults (a
flag given on the command line still wins). ``train_config.json`` records the preset's name and
every value it set, so a run is rebuilt from that file alone.

``speedrun`` is issue #46's record recipe: from scratch, the 291 images and the protocol's LR
only, on whatever the machine has (all its cores, bf16 where :func:`hubsr.precision.cpu_bf16_pays`
says it pays, float32 otherwise), with EMA snapshots so that ``time_to_psnr.py`` can read the
clock at which Set14 first passed VDSR's 29.77 dB. How each value was chosen: the A/B table of
``training/records/README.md``.
"""

PRESETS: dict[str, dict] = {
    "speedrun": {
        "model": "abpn-x3",
        "steps": 0,
        "minutes": 5.0,
        "compile": True,
        "mixed_precision": "auto",
        "snapshot_every": 20.0,
        # One Set5 evaluation at the end: the clock stops for evaluations, the wall clock does not.
        "eval_every": 1_000_000,
        "log_every": 250,
    },
}
