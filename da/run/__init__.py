"""One training job around the Trainer: build, resume, reporting, provenance, progress bar,
output-folder check, W&B tracking."""
