"""The grading engine, one package per process, so the tree shows the trust boundary:

- ``nbgrader_side``: nbgrader's process (the autograde step): ``preprocessor``,
  ``restore_cells``, ``flag_internals`` with ``source_flags``, and ``judge_client``, which starts
  the judge and sends it each notebook;
- ``judge``: the judge, a clean process in which no student code runs: ``plugin`` (the pytest
  plugin that runs the hidden tests), ``server`` (its loop), ``example_replay``,
  ``hypothesis_internals`` (the only use of hypothesis's private API), ``budget``,
  ``cpu_wait``, ``sandbox`` (builds the worker's bubblewrap command), ``zygotes`` (the judge's
  side of the zygotes) and ``student_proxy`` (the judge's proxy of the student's code);
- ``worker``: inside the sandbox, with the student's code: ``serve`` (the worker's loop),
  ``guard`` (refused built-ins), ``confine`` (its limits), ``zygote`` (forks workers); the
  sandbox holds only this package and ``shared``, never ``judge`` or ``nbgrader_side``;
- ``shared``: what crosses between them: ``protocol`` (every message, a dataclass each, parsed
  and validated where it arrives: the hostile worker's replies there and nowhere else),
  ``wire`` (the bytes under the judge and worker's messages), ``limits`` (``Limits`` and
  ``EngineSettings``), ``cells``.
"""
