"""The tests: generated recordings of real faces, the real store, CLI, worker processes and browser."""
