#!/usr/bin/env bash
# One slice of a benchmark table: a `da-train -m` sweep from a clean commit, its runs added to the
# table's results.csv (da-compare --append: a run already there stops it) and a record of the
# slice (command, commit, machine, wall time) appended to the table's RUN.md. A table too large
# for one session (experiments/digits_adda: about 10 min per MCD or ADDA run on 2 cores) grows one
# slice at a time:
#
#   scripts/run_slice.sh TABLE_DIR RUNS_DIR OVERRIDE...
#   scripts/run_slice.sh experiments/digits_adda ~/da_runs \
#       experiment=mnist2000_to_usps1800,usps1800_to_mnist2000 method=mcd seed=0
#
# Jobs run two at a time (hydra/launcher=parallel; one torch thread each on 2 cores; set
# SLICE_LAUNCHER=slurm or another launcher to change it). The run dirs (checkpoints included)
# stay in RUNS_DIR/slice-<UTC time>, outside the repo. Needs DA_DATA_DIR. SLICE_ALLOW_DIRTY=1 runs
# with uncommitted changes and says so in RUN.md (for trying the script, not for a table).
set -uo pipefail
table="${1:?usage: scripts/run_slice.sh TABLE_DIR RUNS_DIR OVERRIDE...}"
runs="${2:?usage: scripts/run_slice.sh TABLE_DIR RUNS_DIR OVERRIDE...}"
shift 2
[ $# -gt 0 ] || { echo "run_slice: give the sweep's overrides (experiment=... method=... seed=...)" >&2; exit 2; }
repo="$(cd "$(dirname "$0")/.." && pwd)"
mkdir -p "$table" "$runs"
table_abs="$(cd "$table" && pwd)"
# The table's own files grow slice by slice (uncommitted between slices of one session); any
# other uncommitted change could alter the training code, so it needs SLICE_ALLOW_DIRTY=1.
keep=()
case "$table_abs/" in
  "$repo"/*) keep=(":(exclude)$table_abs/results.csv" ":(exclude)$table_abs/results.md"
                   ":(exclude)$table_abs/RUN.md") ;;
esac
dirty=""
if ! git -C "$repo" diff --quiet HEAD -- "$repo" "${keep[@]}"; then
  if [ "${SLICE_ALLOW_DIRTY:-0}" != 1 ]; then
    echo "run_slice: the working tree has uncommitted changes; a table slice runs from a clean commit" >&2
    exit 2
  fi
  dirty=" **with uncommitted changes**"
elif ! git -C "$repo" diff --quiet HEAD; then  # only the table's own files: say so
  dirty=" (only this table's results.csv/results.md/RUN.md differ from it, so metrics.json records \`-dirty\`)"
fi
py="${PYTHON:-python}"   # the Python that has da installed (da-train = $py -m da.train)
export HF_HUB_OFFLINE="${HF_HUB_OFFLINE:-1}" WANDB_MODE="${WANDB_MODE:-offline}"
slice="$(cd "$runs" && pwd)/slice-$(date -u +%Y%m%d-%H%M%S)"
commit="$(git -C "$repo" rev-parse HEAD)"
start=$(date +%s)
"$py" -m da.train -m "$@" "hydra/launcher=${SLICE_LAUNCHER:-parallel}" "hydra.sweep.dir=$slice"
status=$?
wall=$(( $(date +%s) - start ))
# finished and failed runs alike go into the table (failed ones as status=failed, by name)
"$py" -m da.results.compare "$slice" --no-plot --append "$table/results.csv" || exit $?
{
  echo
  echo "## $(basename "$slice")"
  echo
  echo '```bash'
  echo "scripts/run_slice.sh $table RUNS_DIR $*"
  echo '```'
  echo "- commit \`$commit\`$dirty, $(date -u +%Y-%m-%d), exit status $status, wall time ${wall} s"
  echo "- machine: $("$py" -c 'from da.run.provenance import machine; print(machine())')," \
       "launcher ${SLICE_LAUNCHER:-parallel}"
  echo "- runs: $(find "$slice" -name metrics.json | wc -l) finished of" \
       "$(find "$slice" -mindepth 1 -maxdepth 1 -type d ! -name '.*' | wc -l) job dirs"
} >> "$table/RUN.md"
exit $status
