"""Engines: where statements run. Never imports rql, session or a front end."""
