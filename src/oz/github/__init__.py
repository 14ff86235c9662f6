"""GitHub: connected accounts, GitHub App authorization and run credentials."""
