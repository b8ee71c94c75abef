#!/usr/bin/env bash
# DANN alignment study (issue #26, item 4): does DANN align the features it fools its
# discriminator with? Each setting is a `da-train -m` sweep over 2 Amazon bag-of-words pairs x 2
# seeds with diagnostics.a_distance=true; da-compare then tables target accuracy, both A-distance
# probes and the discriminator's held-out accuracy per setting (the `method.name` of a row).
#   experiments/dann_alignment/run.sh OUT_DIR      (about 10 minutes on 2 cores)
set -uo pipefail
out="${1:?usage: experiments/dann_alignment/run.sh OUT_DIR}"
py="${PYTHON:-python}"
export HF_HUB_OFFLINE=1 WANDB_MODE=offline
common=(-m "source=bow_kitchen,bow_electronics" target=bow_books encoder=mlp seed=0,1
        diagnostics.a_distance=true trainer.enable_progress_bar=false hydra/launcher=basic)
declare -A settings=(
  [source_only]="method=source_only"
  [mmd]="method=mmd"
  [dann]="method=dann"
  [dann_linear_disc]="method=dann method.name=dann_linear_disc method.loss.hidden_dims=[]"
  [dann_disc_500_500]="method=dann method.name=dann_disc_500_500 method.loss.hidden_dims=[500,500]"
  [dann_disc_lr_x10]="method=dann method.name=dann_disc_lr_x10 method.alignment_lr_scale=10"
  [dann_lambda_1]="method=dann method.name=dann_lambda_1 method.loss.coeff.value=1.0"
  [dann_confusion]="method=dann method.name=dann_confusion method.loss.objective=confusion"
  [dann_confusion_lambda_1]="method=dann method.name=dann_confusion_lambda_1 method.loss.objective=confusion method.loss.coeff.value=1.0"
)
for name in "${!settings[@]}"; do
  # shellcheck disable=SC2086
  "$py" -m da.train "${common[@]}" ${settings[$name]} "hydra.sweep.dir=$out/$name" \
    > "$out.$name.log" 2>&1 || echo "setting $name: exit status $? (see $out.$name.log)"
done
for metric in test/target_acc diag/a_distance_svm diag/a_distance diag/disc_acc_heldout \
              train/align/disc_acc; do
  "$py" -m da.results.compare "$out"/* --out "$out/table_${metric//\//_}" --metric "$metric" \
    --no-plot | sed -n '1,/^written/p' | grep -v '^written'
done
