#!/usr/bin/env bash
# The GPU job of issues #5/#6, in one call of the device tool: install the carried wheels, train
# the plan's runs side by side, and pack each model folder and the logs into $OUT.
#   bash training/gpu_run.sh            (PLAN=..., EXTRA="flags for every run" to change it)
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/hubsr-out}
PY=${PYTHON:-python3}
RUNS=runs/gpu
mkdir -p "$OUT" "$RUNS"
if ! $PY -c "import datasets" 2>/dev/null; then  # the GPU image lacks it: carried as wheels
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=${PYTHONPATH:+$PYTHONPATH:}$PWD
$PY - <<'PY'
import accelerate, datasets, huggingface_hub, pyarrow, torch
gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else "no GPU"
print(f"torch {torch.__version__} on {gpu}; pyarrow {pyarrow.__version__} (datasets needs >= 24),"
      f" huggingface_hub {huggingface_hub.__version__} (>= 1.31), datasets {datasets.__version__},"
      f" accelerate {accelerate.__version__}", flush=True)
PY
# DEADLINE (s) leaves time to pack before the device call's own limit, whatever happens.
timeout "${DEADLINE:-555}" $PY training/side_by_side.py "${PLAN:-training/plans/gpu-15min.json}" \
  --runs-dir $RUNS --extra "${EXTRA:-}" 2>&1 | tee "$OUT/side_by_side.log"
status=${PIPESTATUS[0]}
# One tar per model folder, without resumable checkpoints, best/ and last/ (the folder itself holds
# the best weights) and snapshots (too big to bring back), except the snapshot at which
# time_to_psnr.py first saw the threshold passed, copied beside them.
for run in "$RUNS"/*/; do
  name=$(basename "$run")
  keep=$($PY -c "import json,sys; r=json.load(open(sys.argv[1]))['first_pass']; print(r['file'] if r else '')" \
    "$run/time_to_psnr.json" 2>/dev/null)
  [ -n "$keep" ] && cp "$run/snapshots/$keep" "$run/first_pass_snapshot.safetensors"
  best=(--exclude "$name/best")
  [ -f "$run/model.safetensors" ] || best=()  # cut off before its end: best/ is all there is
  tar -cf "$OUT/$name.tar" -C "$RUNS" --exclude "$name/checkpoint*" --exclude "$name/last" \
    "${best[@]}" --exclude "$name/snapshots" "$name"
done
tar -cf "$OUT/logs.tar" -C "$RUNS" $(cd $RUNS && ls *.log)
ls -la "$OUT"
exit "$status"
