#!/usr/bin/env bash
# Reference jobs: a fixed set of small, seeded da-train runs that cover each kind of run (vectors,
# tf-idf text, frozen / prefix-cached / fine-tuned text encoders, digits, MCD, SHOT, a selection
# rule, the mSDA denoiser, a sweep). Run it before and after a change that should not change any
# result, then compare the two folders:
#
#   scripts/reference_jobs.sh /tmp/ref_before            # at the old commit
#   scripts/reference_jobs.sh /tmp/ref_after             # at the new one
#   python scripts/compare_reference.py /tmp/ref_before /tmp/ref_after
#
# Each job writes OUT_DIR/<job>/metrics.json (a sweep: OUT_DIR/<job>/<n>_<run>/metrics.json).
# Features are cached in OUT_DIR/cache (fresh each time, so cache/* counts match too).
# About 4 minutes on 2 CPU cores. Needs DA_DATA_DIR (default: ../shared/datasets).
set -uo pipefail
out="${1:?usage: scripts/reference_jobs.sh OUT_DIR [JOB ...]}"; shift
repo="$(cd "$(dirname "$0")/.." && pwd)"
mkdir -p "$out"; out="$(cd "$out" && pwd)"
export DA_DATA_DIR="${DA_DATA_DIR:-$repo/../shared/datasets}"
export DA_CACHE_DIR="$out/cache" HF_HUB_OFFLINE=1 WANDB_MODE=offline HYDRA_FULL_ERROR=1
rm -rf "$DA_CACHE_DIR"

small_bow=(source=bow_dvd target=bow_electronics source.max_examples=500 target.max_examples=500
           trainer.max_epochs=3 trainer.enable_progress_bar=false)
small_text=(source=rt_polarity target=cr source.max_examples=300 target.max_examples=300
            trainer.max_epochs=2 trainer.enable_progress_bar=false)
small_digits=(source=mnist target=usps source.max_examples=400 target.max_examples=400
              trainer.max_epochs=2 trainer.enable_progress_bar=false)

declare -A jobs=(
  [vectors_dann]="${small_bow[*]} method=dann"
  [vectors_cdan_e]="${small_bow[*]} method=cdan_e encoder=mlp"
  [vectors_msda_mmd]="${small_bow[*]} method=mmd encoder.denoiser={_target_:da.data.msda.MSDA,layers:1}"
  [tfidf_coral]="${small_text[*]} method=coral encoder=mlp"
  [text_frozen_dann]="${small_text[*]} method=dann encoder=minilm"
  [text_prefix_cached]="${small_text[*]} source.max_examples=120 target.max_examples=120 data.batch_size=32 trainer.max_epochs=1 method=mmd encoder=minilm encoder.freeze=4"
  [text_finetuned]="${small_text[*]} source.max_examples=60 target.max_examples=60 trainer.max_epochs=1 method=coral encoder=minilm encoder.freeze=5 encoder.prefix_cache=false data.batch_size=16"
  [digits_dann]="${small_digits[*]} method=dann"
  [mcd]="${small_bow[*]} method=mcd"
  [shot]="${small_bow[*]} method=shot"
  [selection_dev]="${small_bow[*]} method=mmd selection=dev"
  [jmmd_validators]="${small_bow[*]} method=jmmd validators.enabled=true diagnostics.a_distance=true"
)
wanted=("$@"); [ ${#wanted[@]} -eq 0 ] && wanted=($(printf '%s\n' "${!jobs[@]}" sweep | sort))
status=0
for job in "${wanted[@]}"; do
  start=$(date +%s)
  if [ "$job" = sweep ]; then
    args=(-m "${small_bow[@]}" trainer.max_epochs=1 method=source_only,coral seed=0,1
          "hydra.sweep.dir=$out/sweep")
  else
    read -r -a args <<< "${jobs[$job]}"
    args+=("hydra.run.dir=$out/$job")
  fi
  (cd "$repo" && python -m da.train "${args[@]}") > "$out/$job.log" 2>&1
  rc=$?
  echo "$job: exit $rc, $(( $(date +%s) - start )) s"
  [ $rc -eq 0 ] || status=1
done
exit $status
