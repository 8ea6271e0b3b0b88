"""Instructor-only: hidden tests, the grading engine and the simulated class.

Never shipped to students (see ``instructor/bundle.py``).
"""
