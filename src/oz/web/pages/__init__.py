"""Page routers of the web app, one module per page or group of pages."""
