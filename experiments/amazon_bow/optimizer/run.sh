#!/usr/bin/env bash
# The optimizer study of issue #26 items 4-5 (README.md here): on Amazon bag-of-words, does a
# target term's weight still set its strength under Adam, and what do the collapsing methods do
# under SGD, the optimizer of their papers? Run from the repository root:
#
#   bash experiments/amazon_bow/optimizer/run.sh lr      # 1. SGD learning rate, source-only, 12 pairs
#   bash experiments/amazon_bow/optimizer/run.sh tune    # 2. weights under SGD, development pairs
#   bash experiments/amazon_bow/optimizer/run.sh table   # 3. chosen.txt's settings on the 12 pairs
#
# Needs DA_DATA_DIR. Runs go to $RUNS (default outputs/optimizer_study); tables are printed by
# summarize.py and da-tune writes its tune.md under this folder. No step reads a target label to
# choose: 1 is chosen on the source validation accuracy, 2 by select/dev with the collapse guard.
set -uo pipefail
cd "$(dirname "$0")/../../.."
RUNS=${RUNS:-outputs/optimizer_study}
HERE=experiments/amazon_bow/optimizer
SGD=(optim=sgd_annealed "optimizer.lr=${SGD_LR:-0.03}")
others() { echo bow_books,bow_dvd,bow_electronics,bow_kitchen | sed "s/bow_$1,\?//; s/,$//"; }
twelve_pairs() {   # twelve_pairs SWEEP_NAME OVERRIDE...: one sweep per source, the 3 other targets
  local name=$1; shift
  for s in books dvd electronics kitchen; do
    da-train -m experiment=amazon_bow_sweep source=bow_$s target="$(others $s)" \
      validators.enabled=true logger=csv "$@" hydra.sweep.dir="$RUNS/$name/$s"
  done
}
case "${1:?usage: run.sh lr|tune|table}" in
  lr)
    twelve_pairs sgd_lr method=source_only seed=0 optim=sgd_annealed \
      optimizer.lr=0.01,0.03,0.1,0.3 hydra/launcher=basic
    python $HERE/summarize.py "$RUNS/sgd_lr" ;;
  tune)
    declare -A GRID=(
      [mcc]="method.weight.value=0.03,0.1,0.3,1"
      [entropy]="method.weight.value=0.01,0.1,1"
      [bnm]="method.weight.value=0.1,0.3,1"
      [dann]="method.loss.coeff.value=0.1,0.3,1 diagnostics.a_distance=true"
      [cdan]="method.loss.coeff.value=0.1,0.3,1"
      [cdan_e]="method.loss.coeff.value=0.1,0.3,1"
      [dann_entropy]="method.loss.losses.dann.coeff.value=0.1,0.3 method.loss.weights.entropy=0.01,0.1"
      [mmd]="method.weight.value=0.3,1,3,10"
      [jmmd]="method.weight.value=0.3,1,3,10"
      [coral]="method.weight.value=1,10,100"
      [mcd]="method.weight.value=0.03,0.1,0.3,1"
      [shot]="method.weight.value=0.1,0.3,1,3"
    )
    for method in ${METHODS:-mcc entropy bnm dann cdan cdan_e dann_entropy mmd jmmd coral mcd shot}; do
      # shellcheck disable=SC2086
      da-tune method=$method ${GRID[$method]} "${SGD[@]}" encoder=mlp \
        trainer.enable_progress_bar=false --pairs bow_books:bow_kitchen bow_electronics:bow_dvd \
        --seeds 0,1 --launcher parallel --sweep-dir "$RUNS/tune/$method" --out "$HERE/tune/$method"
    done ;;
  table)
    # CHOSEN: one setting per line, each a full set of overrides (its optimizer included), e.g.
    #   "method=mcc method.weight.value=0.1 optim=sgd_annealed optimizer.lr=0.03"
    # (the settings tune chose: chosen.txt here). Every run also gets the A-distance probes.
    while read -r setting; do
      [ -n "$setting" ] || continue
      # shellcheck disable=SC2086
      twelve_pairs "table/$(echo $setting | tr ' =' '_-')" $setting diagnostics.a_distance=true \
        seed="${SEEDS:-0,1,2}" hydra/launcher=parallel
    done <<< "${CHOSEN:-$(grep -v '^#' $HERE/chosen.txt)}"
    python $HERE/summarize.py "$RUNS/table" ;;
esac
