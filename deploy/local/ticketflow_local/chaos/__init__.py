"""The crash and restart run (make chaos) and its invariant checker."""
