"""The web app at `/`: sign-in, settings pages, their templates and static files."""
