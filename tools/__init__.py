"""Not the product: benchmarks, screenshot and synthetic-call generators, seed data for tests and screenshots."""
