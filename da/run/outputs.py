"""Check that the run (or sweep) folder can be written before Hydra creates it.

Hydra makes the output folder itself, before ``da-train`` gets control, so a folder below a
file, on a read-only mount or without write permission would end in a stack trace. This Hydra
callback (registered in conf/train.yaml under ``hydra.callbacks``) checks the nearest existing
parent first and stops with a message naming the folder and the fix.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback

FIX = ("point DA_OUTPUT_DIR (or hydra.run.dir / hydra.sweep.dir) at a folder you can write, "
       "e.g. DA_OUTPUT_DIR=$HOME/da-outputs")


def unwritable_reason(folder: str | os.PathLike) -> str | None:
    """Why ``folder`` cannot be created or written, or ``None`` when it can."""
    path = Path(folder).expanduser().absolute()
    for parent in (path, *path.parents):
        if parent.exists():
            if not parent.is_dir():
                return f"{parent} is a file, not a folder"
            if not os.access(parent, os.W_OK | os.X_OK):
                return f"{parent} is not writable by this user"
            return None
    return None


def check_output_dir(folder: str | os.PathLike) -> None:
    """Exit with status 2 and a one-line message if ``folder`` cannot be written."""
    reason = unwritable_reason(folder)
    if reason is not None:
        print(f"da-train: error: cannot create the output folder {folder}: {reason}; {FIX}.",
              file=sys.stderr, flush=True)
        sys.exit(2)


class OutputDirCheck(Callback):
    """Hydra callback: check ``hydra.run.dir`` / ``hydra.sweep.dir`` before anything runs."""

    def on_run_start(self, config: Any, **kwargs: Any) -> None:
        check_output_dir(config.hydra.run.dir)

    def on_multirun_start(self, config: Any, **kwargs: Any) -> None:
        check_output_dir(config.hydra.sweep.dir)
