"""Runs inside the sandbox, with the student's code: the worker that answers the judge's
requests, the guard that refuses forbidden built-ins, and the zygote that forks workers.
Everything here is hostile ground: nothing it sends is trusted by the judge."""
