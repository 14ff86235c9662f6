"""`oz settings`: a full-screen terminal app, built on Textual, for managing API keys.

It talks to the server over the same REST API as the `oz` commands, through `OzClient`.
`oz.cli.settings_cmd` imports this package only when the app starts, so other commands
never load Textual.
"""
