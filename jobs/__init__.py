"""The analysis queue (`jobs.queue`: Huey plus the `jobs` table) and its worker processes (`jobs.worker`)."""
