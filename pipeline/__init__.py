"""A recording to per-second rows, shifts and stills (pure, in-memory stages), and the one atomic store of an analysis."""
