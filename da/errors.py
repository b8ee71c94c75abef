"""User-facing errors and the error policy of `da`.

**Which exception for what.** Every problem a user can fix raises a subclass of :class:`DAError`:

* :class:`ConfigError`: a configuration value is invalid or two choices do not fit together
  (``num_k=0``, an alignment loss with MCD, an encoder that does not fit the data, a source and
  a target of different modalities, an unknown ``_target_``, a missing mandatory value, a loss
  that returns a non-scalar, a malformed method / encoder / domain yaml: :mod:`da.config.checks`,
  :mod:`da.config.signatures`, whose messages name the file or override, the key and the shape);
* :class:`DataError`: a dataset is missing, unreadable, corrupt or inconsistent (including a
  failed download or sha256 check);
* :class:`TrainingError`: training cannot go on, e.g. a NaN/Inf loss.

Building blocks that are usable without a config (losses, schedules, LR schedulers, networks,
feature transforms) check their arguments with plain ``ValueError`` / ``TypeError``; when they are
built from a config, :func:`da.config.instantiate.build` turns the error into a
:class:`ConfigError` that names
the config node. :class:`da.selection.validators.MissingValidator` (a ``ValueError``) marks a
model-selection score that cannot be computed for a run; it is recorded, never fatal. Any other
exception (``RuntimeError``, ``NotImplementedError``, ...) is a bug or a misuse of an internal API
and keeps its traceback.

**Messages** name the problem (the value, config key, file or dataset) and the fix (the override
to set, the command to run), e.g. ``set method.loss=null`` or ``run `da-data download ...```.

**When.** Where possible before training: ``da-train`` checks the output folder before anything
runs (:mod:`da.run.outputs`), loads and checks both domains before building the model, builds every
config node through :func:`da.config.instantiate.build`, and calls ``configure_optimizers``
once before
``fit`` (a negative learning rate fails there, not after data loading). Only what depends on
training itself (:class:`TrainingError`) is raised during ``fit``, at the step that fails.

**At the command line** (:mod:`da.train`, :mod:`da.data.cli`):

* ``da-train``, one run: a :class:`DAError` is logged to the run's ``train.log`` and printed as
  ``da-train: error: <message>`` on stderr, without a traceback; the exit status is 2 (an
  unwritable output folder also ends with a one-line message and status 2).
* ``da-train -m`` (multirun): the :class:`DAError` is logged and re-raised, so only that job
  fails; the launcher still runs the other jobs, then Hydra reports the failed job (with a short
  traceback; ``HYDRA_FULL_ERROR=1`` for the whole one) and exits with status 1.
* ``da-data``: a :class:`DAError` or ``OSError`` is printed as ``da-data: error: <message>``;
  status 2.
* ``da-compare``, ``da-tune``, ``da-bench`` end on bad arguments with
  ``SystemExit("<tool>: ...")``: the message on stderr, status 1.
* Errors in composing the config (an unknown config group option or key) are Hydra's own: its
  message, status 1. Any other exception propagates with its traceback.
"""


class DAError(Exception):
    """Base class of errors caused by the user's input, not by a bug in `da`."""


class DataError(DAError):
    """A dataset is missing, unreadable, corrupt or inconsistent."""


class ConfigError(DAError):
    """A configuration value is invalid or two choices do not fit together."""


class TrainingError(DAError):
    """Training diverged (NaN/Inf loss) or otherwise cannot continue."""
