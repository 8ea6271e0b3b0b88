"""Instructor tools: build assignments and the student bundle, grade a simulated class."""
