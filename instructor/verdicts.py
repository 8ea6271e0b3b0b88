"""Every hidden test's verdict on every simulated submission, written down to compare two
versions of the engine: a change meant to keep grades (a refactor, a speed-up) must leave
every verdict as it was.

    python -m instructor.verdicts snapshot BEFORE.json [ASSIGNMENT ...]
    ... change the engine ...
    python -m instructor.verdicts snapshot AFTER.json [ASSIGNMENT ...]
    python -m instructor.verdicts compare BEFORE.json AFTER.json

A snapshot grades, per assignment in one judge (as ``try_hidden --check`` does), every case of
the simulated class that is a notebook (solutions, blanks, variants, mistakes, and the attacks
written as notebooks), and keeps per test whether it passed and the first line of what the
student read; ``compare`` prints every difference and exits 1 when there is one.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from instructor.paths import assignments


def first_line(message: str | None) -> str:
    return (message or "").strip().splitlines()[0][:300] if (message or "").strip() else ""


def snapshot(chosen: list[str]) -> dict:
    from autograder.engine.nbgrader_side.judge_client import stop_all
    from autograder.simulated_class import load_cases
    from instructor.try_hidden import run

    verdicts: dict = {}
    try:
        for assignment in chosen:
            for case in load_cases(assignment):
                if case.kind == "broken" or case.extra_files:
                    continue  # not a notebook the engine grades alone: the catalog tests grade these
                try:
                    results = run(assignment, case=case)
                except Exception as exc:  # a case whose notebook the engine cannot read: kept as such
                    verdicts[f"{assignment}/{case.name}"] = {"unreadable": f"{type(exc).__name__}: {exc}"[:300]}
                    continue
                verdicts[f"{assignment}/{case.name}"] = {
                    "judge_failed": bool(results.get("judge_failed")),
                    "collection_errors": len(results.get("collection_errors") or []),
                    "tests": {r["test"]: [bool(r["passed"]), first_line(r.get("message"))]
                              for r in results["tests"]}}
                print(f"{assignment}/{case.name}: {sum(not r['passed'] for r in results['tests'])} failed",
                      flush=True)
    finally:
        stop_all()
    return verdicts


def differences(before: dict, after: dict) -> list[str]:
    found = []
    for key in sorted(set(before) | set(after)):
        if key not in after or key not in before:
            found.append(f"{key}: only {'before' if key in before else 'after'}")
            continue
        old, new = before[key], after[key]
        for name in sorted(set(old.get("tests", {})) | set(new.get("tests", {}))):
            a, b = old.get("tests", {}).get(name), new.get("tests", {}).get(name)
            if a != b:
                found.append(f"{key} {name}: {a} -> {b}")
        for field in ("judge_failed", "collection_errors", "unreadable"):
            if old.get(field) != new.get(field):
                found.append(f"{key} {field}: {old.get(field)} -> {new.get(field)}")
    return found


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    take = commands.add_parser("snapshot", help="grade every simulated case and write the verdicts")
    take.add_argument("out", type=Path)
    take.add_argument("assignment", nargs="*", default=[])
    diff = commands.add_parser("compare", help="print every verdict that differs; exit 1 if any")
    diff.add_argument("before", type=Path)
    diff.add_argument("after", type=Path)
    args = parser.parse_args(argv)
    if args.command == "snapshot":
        unknown = set(args.assignment) - set(assignments())
        if unknown:
            parser.error(f"no assignment {sorted(unknown)}; there are {', '.join(assignments())}")
        verdicts = snapshot(args.assignment or assignments())
        args.out.write_text(json.dumps(verdicts, indent=1, sort_keys=True))
        print(f"{len(verdicts)} submissions, {sum(len(v.get('tests', {})) for v in verdicts.values())} "
              f"verdicts -> {args.out}")
        return
    found = differences(json.loads(args.before.read_text()), json.loads(args.after.read_text()))
    print("\n".join(found) if found else "every verdict the same")
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
