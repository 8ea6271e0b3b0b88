"""The grading engine. Where each module runs:

- nbgrader side: ``preprocessor`` (the autograde step), ``restore_cells``;
- judge side (a clean process that runs the hidden tests): ``judge``, ``judge_server``,
  ``student_proxy`` (the judge's proxy of the student's code), ``cpu_wait``;
- worker side (the sandboxed process that runs the student's code): ``worker``, ``guard``;
- both sides: ``wire`` (the messages between judge and worker), ``sandbox`` (builds the
  worker's bubblewrap command in the judge; its limits are applied in the worker);
- every side: ``limits`` (the one typed value, from course_config.py to the worker, that
  bounds a submission's grading).
"""
