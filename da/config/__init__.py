"""Composing and checking a run's config: composition (once), the encoder=auto choice, config-file checks, signatures, instantiation with clear errors."""
