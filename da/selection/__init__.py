"""Unsupervised model selection and domain-discrepancy diagnostics.

- :mod:`~da.selection.validators`: scores that need no target labels (source accuracy, target
  entropy, IWV, DEV, SND) and their directions; the oracle target accuracy is labelled oracle;
- :mod:`~da.selection.callback`: logs them as ``select/<name>`` each validation epoch;
- :mod:`~da.selection.checkpoint` and :mod:`~da.selection.rules`: ``selection=<rule>`` keeps and
  tests the checkpoint a validator prefers, with a fallback to ``select/source_acc``;
- :mod:`~da.selection.diagnostics`, :mod:`~da.selection.embedding`,
  :mod:`~da.selection.diag_callback`: proxy A-distance before/after training and a t-SNE plot.
"""
