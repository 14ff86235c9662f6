"""Shared test helpers: databases on both backends, a data world, real servers."""
