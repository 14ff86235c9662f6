"""Agent harnesses that oz can run without a language model."""
