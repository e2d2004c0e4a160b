"""The TUI's widgets: editor, results grid, catalog sidebar, status bar."""
