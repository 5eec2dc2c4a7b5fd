"""Pages and browser assets (templates, JS modules, vendored map libraries from npm)."""
