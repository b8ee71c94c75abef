#!/usr/bin/env bash
# Issue #27's aim for `da-tune --methods`: one command on one pair of the user's own files of the
# bag-of-words size, <= 5 min on 2 cores. The pair: the 2,000 bow_books training vectors with
# their labels (books.npz: X, y) and the 2,000 bow_kitchen training vectors without labels
# (kitchen.npz: X only), written from $DA_DATA_DIR as a user's own files would be; the kitchen
# test part with labels (kitchen_test.npz) is the target's test_path, for the oracle column only.
# Run from the repository root on an otherwise idle machine:
#   DA_DATA_DIR=../shared/datasets bash experiments/new_pair/tune_methods.sh [OUT_DIR]
set -euo pipefail
out="${1:-outputs/new_pair}"
mkdir -p "$out"
python - "$out" <<'PY'
import sys
import numpy as np
from hydra.utils import instantiate
from omegaconf import OmegaConf
for name, path, part, labeled in (("bow_books", "books.npz", "train", True),
                                  ("bow_kitchen", "kitchen.npz", "train", False),
                                  ("bow_kitchen", "kitchen_test.npz", "test", True)):
    cfg = OmegaConf.merge(OmegaConf.load("conf/base/domain.yaml"),
                          OmegaConf.load(f"conf/domain/{name}.yaml"))
    split = getattr(instantiate(cfg).load(), part)
    labels = {"y": np.array(["negative", "positive"])[split.y]} if labeled else {}
    np.savez(f"{sys.argv[1]}/{path}", X=split.x.toarray().astype(np.float32), **labels)
PY
start=$(date +%s)
da-tune --methods source_only,dann,mmd,coral,shot encoder=mlp target.label_column=null \
    "target.test_path=$(cd "$out" && pwd)/kitchen_test.npz" trainer.enable_progress_bar=false --pairs "features=$out/books.npz:features=$out/kitchen.npz" \
    --seeds 0 --launcher parallel --out "$out/tune" --sweep-dir "$out/sweeps" > "$out/tune.log" 2>&1
echo "da-tune --methods source_only,dann,mmd,coral,shot: $(( $(date +%s) - start )) s (wall)"
tail -n 4 "$out/tune.log"
