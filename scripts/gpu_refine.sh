#!/usr/bin/env bash
# One resumable chunk of refiner training on a lent GPU machine (see README "Training").
# Fills the deconvolution cache on every CPU core for FILL_S seconds, packs the samples
# made into one dense range, trains on the GPU for the config's max_minutes and copies
# the exported weights and the log to $OUT. Needs .gpu/data (scripts/compact_data.py).
set -uo pipefail
CFG=${CFG:-training/configs/refine_gpu.json}
FILL_S=${FILL_S:-200}
PROCS=${PROCS:-$(( $(nproc) - 1 ))}
PER=${PER:-400}
OUT=${OUT:-runs/out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1
PY=${PY:-python3}
echo "fill: $PROCS processes x $FILL_S s"
for j in $(seq 0 $((PROCS - 1))); do
  timeout "$FILL_S" $PY -m training.deconv_data fill --config "$CFG" \
    --start $((j * PER)) --stop $(((j + 1) * PER)) >"$OUT/fill_$j.log" 2>&1 &
done
wait
N=$($PY - "$CFG" <<'PY'
import sys
from pathlib import Path
from training.config import load_config
from training.deconv_data import DeconvRefineDataset
ds = DeconvRefineDataset(load_config(sys.argv[1]).refine)
made = sorted(p for p in ds.folder.glob("*.npz") if p.stem.isdigit())
for i, p in enumerate(made):  # dense 0..n-1, so the dataset never makes one on the fly
    if p != ds.path(i):
        p.rename(ds.path(i))
print(len(made))
PY
)
echo "samples: $N"
cat "$OUT"/fill_*.log | awk '{print $3}' | cut -d: -f1 | sort | uniq -c
rm -f "$OUT"/fill_*.log
$PY -m training train "$CFG" --set refine.cache_size="$N" ${TRAIN_ARGS:-} 2>&1 | tee "$OUT/train.log" | tail -40
cp runs/refine_gpu/model.safetensors "$OUT/refine_gpu.safetensors" 2>/dev/null
cp runs/refine_gpu/*.csv "$OUT/" 2>/dev/null
ls -la "$OUT"
