"""nbgrader's way in for the source flags (``source_flags.py``): after ``SaveAutoGrades``.

A submission whose answer cells use internals no exercise needs (``torch._C``,
``torch.ops``, dispatch keys, ``ctypes``, tracing hooks, frame and ``gc`` walking, the
grader's own names, names hidden by dynamic access) keeps its automatic scores, but the
check cells those answers can affect are marked ``needs_manual_grade`` in the gradebook,
so the formgrader lists them for the instructor; the answer cell gets an automatic comment
naming each flagged line and why; the submitted notebook is flagged in the formgrader; the
check cell's output says it is held for review (no more: the student is not told what
was flagged); and the log has a warning naming the student, cell and line.
"""
from __future__ import annotations

from nbformat.v4 import new_output
from nbgrader.api import Gradebook
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool

from autograder import cell_conventions
from autograder.engine.nbgrader_side.preprocessor import answer_cells
from autograder.engine.nbgrader_side.source_flags import affected_checks, scan_cells

COMMENT_PREFIX = "Held for review: this answer uses internals"
STUDENT_COMMENT = "Held for your instructor's review."
HELD_NOTE = "Held for your instructor's review: this cell's score may change when it has been checked.\n"
LOG_TAG = "SOURCE FLAG"  # how the log's warnings begin (grade_class's report counts them)


class FlagInternals(NbGraderPreprocessor):
    """Hold for manual grading the check cells of answers that use internals no exercise needs."""

    enabled = Bool(True, help="Scan the answer cells' source and hold flagged check cells for "
                   "manual grading.").tag(config=True)

    def preprocess(self, nb, resources):
        if not self.enabled:
            return nb, resources
        info = resources["nbgrader"]
        notebook_id, assignment_id, student_id = info["notebook"], info["assignment"], info["student"]
        with Gradebook(info["db_url"]) as gb:
            source = gb.find_notebook(notebook_id, assignment_id)
            answer_ids = {c.name for c in source.solution_cells}
            grade_ids = {c.name for c in source.grade_cells}
            structure = [(c.name, "answer" if c.name in answer_ids else "check" if c.name in grade_ids else "setup")
                         for c in source.source_cells if c.cell_type == "code"]
            cells = answer_cells(nb, answer_ids)
            flags = scan_cells(cells)
            if not flags:
                return nb, resources
            held = affected_checks(structure, flags, {c.id: c.source for c in cells})
            lines = {}  # (cell, line) -> its flags: one warning and one comment line per flagged line
            for flag in flags:
                lines.setdefault((flag.cell, flag.line), []).append(flag)
            for (cell_id, line), line_flags in lines.items():
                self.log.warning("%s: %s, %s: cell %s, line %d: %s (%s)", LOG_TAG, student_id, notebook_id,
                                 cell_id, line, line_flags[0].text, "; ".join(f.reason for f in line_flags))
            for check in held:
                if check not in grade_ids:
                    continue
                grade = gb.find_grade(check, notebook_id, assignment_id, student_id)
                grade.needs_manual_grade = True
            by_cell: dict[str, list] = {}
            for (cell_id, line), line_flags in lines.items():
                by_cell.setdefault(cell_id, []).append(
                    f"line {line}: {line_flags[0].text}  ({'; '.join(f.reason for f in line_flags)})")
            for cell_id, cell_lines in by_cell.items():
                if cell_id not in answer_ids:
                    continue
                comment = gb.find_comment(cell_id, notebook_id, assignment_id, student_id)
                comment.auto_comment = (f"{COMMENT_PREFIX} no exercise needs, so the checks it affects "
                                        "need grading by hand.\n" + "\n".join(cell_lines))
            submission = gb.find_submission_notebook(notebook_id, assignment_id, student_id)
            submission.flagged = True
            gb.db.commit()
            self.log.warning("%s: %s, %s: %d check cell(s) held for manual grading: %s", LOG_TAG, student_id,
                             notebook_id, len(held), ", ".join(sorted(held)))
        for cell in nb.cells:
            if cell_conventions.is_check(cell) and cell_conventions.grade_id(cell) in held:
                cell.outputs.append(new_output("stream", name="stdout", text=HELD_NOTE))
        return nb, resources


class HideFlagDetails(NbGraderPreprocessor):
    """In ``generate_feedback``, after nbgrader's ``GetGrades``: the student's feedback says that
    an answer is held for review, not which line was flagged or why (the formgrader shows that)."""

    def preprocess_cell(self, cell, resources, index):
        meta = cell_conventions.nbgrader_metadata(cell)
        if str(meta.get("comment") or "").startswith(COMMENT_PREFIX):
            meta["comment"] = STUDENT_COMMENT
        return cell, resources
