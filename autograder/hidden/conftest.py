"""Fixtures every assignment's hidden tests share (the plugin provides ``student``)."""
