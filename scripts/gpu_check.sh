#!/usr/bin/env bash
# GPU smoke + throughput check: DDP fine-tuning of the text encoder on every visible GPU.
#
#   scripts/gpu_check.sh                 # all GPUs, 300 steps, main pair rt_polarity -> cr
#   STEPS=500 scripts/gpu_check.sh method=mmd method.gather=true   # extra da-train overrides
#
# Runs `da-train encoder=minilm encoder.freeze=4 trainer=ddp trainer.devices=<#GPUs>` for $STEPS
# optimizer steps (per-device batch data.batch_size, default 64) into a fresh directory and prints
# the run's throughput (train/steps / time/fit_s; fit time includes validation and DDP start-up,
# not the one-off prefix-cache encoding before fit) and gpu/max_mem_gib (peak CUDA memory of
# rank 0). Needs the datasets ($DA_DATA_DIR) and the package installed with a CUDA build of torch.
# Exits 1 with a message, before starting anything, when no GPU is visible.
set -euo pipefail

STEPS="${STEPS:-300}"
if ! command -v nvidia-smi >/dev/null 2>&1; then
    echo "gpu_check: nvidia-smi not found: this check needs NVIDIA GPUs (nothing was run)" >&2
    exit 1
fi
NGPU="$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true)"
if [[ "${NGPU}" -lt 1 ]]; then
    echo "gpu_check: nvidia-smi lists no GPU (nothing was run)" >&2
    exit 1
fi
if ! python -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
    echo "gpu_check: ${NGPU} GPU(s) listed but torch.cuda.is_available() is False: install a CUDA" \
         "build of torch (pip install torch --index-url https://download.pytorch.org/whl/cu12x)" >&2
    exit 1
fi
if [[ -n "${CUDA_VISIBLE_DEVICES:-}" ]]; then
    NGPU="$(python -c 'import torch; print(torch.cuda.device_count())')"
fi

OUT="$(mktemp -d "${TMPDIR:-/tmp}/da-gpu-check-XXXXXX")"
echo "gpu_check: ${NGPU} GPU(s), ${STEPS} steps, outputs in ${OUT}"
nvidia-smi -L
DA_OUTPUT_DIR="${OUT}" HF_HUB_OFFLINE="${HF_HUB_OFFLINE:-1}" python -m da.train \
    encoder=minilm encoder.freeze=4 trainer=ddp trainer.devices="${NGPU}" \
    "+trainer.max_steps=${STEPS}" trainer.max_epochs=1000 trainer.enable_progress_bar=false \
    "$@"

METRICS="$(find "${OUT}" -name metrics.json | head -n 1)"
if [[ -z "${METRICS}" ]]; then
    echo "gpu_check: the run wrote no metrics.json under ${OUT}" >&2
    exit 1
fi
python - "${METRICS}" "${NGPU}" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
gpus = int(sys.argv[2])
steps, fit_s = m.get("train/steps", 0), m.get("time/fit_s", float("nan"))
print(f"gpu_check: {gpus} GPU(s): {steps} steps in {fit_s:.1f} s of fit = "
      f"{steps / fit_s:.2f} steps/s | gpu/max_mem_gib {m.get('gpu/max_mem_gib', float('nan')):.2f}"
      f" | test/target_acc {m.get('test/target_acc', float('nan')):.4f}")
print(f"gpu_check: metrics in {sys.argv[1]}")
PY
