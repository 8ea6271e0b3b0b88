"""The grading engine, one package per process, so the tree shows the trust boundary:

- ``nbgrader_side``: nbgrader's process (the autograde step: ``preprocessor``,
  ``restore_cells``, ``flag_internals`` with ``source_flags``);
- ``judge``: the judge, a clean process that runs the hidden tests (``plugin``, the pytest
  plugin; ``server``, its loop; ``example_replay``, ``hypothesis_internals`` (the only use of
  hypothesis's private API), ``budget``, ``cpu_wait``, ``sandbox``
  (builds the worker's bubblewrap command), ``student_proxy`` (the judge's proxy of the
  student's code));
- ``worker``: the sandboxed process that runs the student's code (``serve``, ``guard``,
  ``zygote``);
- ``shared``: what crosses between them (``wire``, ``limits``: ``Limits`` and ``EngineSettings``,
  ``cells``).
"""
