"""A run's config: composed once (``encoder=auto`` included), its files checked against the
signatures of their classes, renamed keys answered, nodes instantiated with clear errors."""
