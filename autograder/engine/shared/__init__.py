"""What more than one process imports: what crosses between them (``protocol``: every
message, typed and validated on arrival; ``wire``: the bytes between judge and worker;
``limits``: the bounds from course_config.py to the worker; ``cells``: a notebook cell as the
judge receives it)."""
