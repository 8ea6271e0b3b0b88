"""nbgrader's ``OverwriteCells``, with deleted check cells put back wherever the
student's notebook has lost its neighbours.

nbgrader 0.9.6 re-adds a deleted grade cell after the source cell just before it,
and fails with a KeyError (the whole notebook scored 0) when that neighbour was
deleted too, say an answer cell together with its checks. Here a missing cell goes
after the nearest earlier cell that is still there, or first. Task cells are
re-added like nbgrader does, without its KeyError on cells whose duplicate
``DeduplicateIds`` has stripped of their grade_id.
"""
from __future__ import annotations

from nbgrader.preprocessors import OverwriteCells

from autograder import cell_conventions


class RestoreCells(OverwriteCells):
    def preprocess(self, nb, resources):
        # DeduplicateIds leaves a duplicated cell an empty nbgrader dict, which the
        # metadata check then takes for an old format and rejects the whole notebook.
        for cell in nb.cells:
            if cell_conventions.has_nbgrader_metadata(cell) and not cell_conventions.nbgrader_metadata(cell):
                del cell["metadata"]["nbgrader"]
        return super().preprocess(nb, resources)

    def add_missing_grade_cells(self, nb, resources):
        source_nb = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        source_cells = list(source_nb.source_cells)
        grade_cells = {cell.name: cell for cell in source_nb.grade_cells}
        solution_ids = {cell.name for cell in source_nb.solution_cells}

        def positions():
            found = {}
            for index, cell in enumerate(nb.cells):
                grade_id = cell_conventions.grade_id(cell)
                if grade_id is not None:
                    found.setdefault(grade_id, index)
            return found

        for index, source_cell in enumerate(source_cells):
            present = positions()
            if source_cell.name not in grade_cells or source_cell.name in present:
                continue
            self.log.warning("Missing grade cell %s encountered, adding to notebook", source_cell.name)
            anchor = next((present[earlier.name] for earlier in reversed(source_cells[:index])
                           if earlier.name in present), -1)
            cell = self.missing_cell_transform(source_cell, grade_cells[source_cell.name].max_score,
                                               is_solution=source_cell.name in solution_ids)
            nb.cells.insert(anchor + 1, cell)
        return nb, resources

    def add_missing_task_cells(self, nb, resources):
        source_nb = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        source_cells = {cell.name: cell for cell in source_nb.source_cells}
        present = {cell_conventions.grade_id(cell) for cell in nb.cells}
        for task_cell in source_nb.task_cells:
            if task_cell.name not in present:
                nb.cells.append(self.missing_cell_transform(source_cells[task_cell.name], task_cell.max_score,
                                                            is_task=True))
        return nb, resources
