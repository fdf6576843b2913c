"""Small shared helpers: atomic file output, hashing, seeding, cache locations."""
