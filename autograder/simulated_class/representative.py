"""The small representative class of each assignment: what the everyday main job grades.

Our solution, the blank notebook, a few typical mistakes, a correct variant, and an
attack (where the assignment forbids built-ins and has no attack case, a submission
that uses a forbidden one). The full simulated classes (``load_cases``) run behind the
main job's ``--full``. Names only, so the cases themselves stay in their assignment's file.
"""
from __future__ import annotations

from autograder.simulated_class import Case, load_cases

REPRESENTATIVE = {
    "01_normalization": ["solution", "blank", "unbiased_std", "no_clamp", "variant_std_mean", "attack_allclose"],
    "02_reshape_slice": ["solution", "blank", "to_images_by_columns", "crop_off_by_one", "select_in_place",
                         "variant_narrow_movedim"],
    "03_broadcasting": ["solution", "blank", "broadcast_leading", "distance_uint8_wrap", "variant_zip_longest",
                        "broadcast_uses_torch"],
    "04_matmul": ["solution", "blank", "matmul_elementwise", "markov_transposed", "variant_transposed",
                  "uses_torch_matmul"],
    "04b_gradient_descent": ["solution", "blank", "gradients_not_zeroed", "fit_line_one_step_short",
                             "variant_add_and_stack", "forged_gradients"],
    "05_softmax_cross_entropy": ["solution", "blank", "softmax_no_max", "nll_summed", "variant_one_hot",
                                 "uses_F_cross_entropy"],
    "06_simple_mnist": ["solution", "blank", "no_relu", "predict_logits", "variant_clamp_mm", "uses_f_linear"],
}


def representative_cases(assignment: str) -> list[Case]:
    """The small class of ``assignment``, in the order above; every name must be a case of its file.
    An assignment not listed (a new one) is represented by its solution, its blank notebook, its
    first variant, its first two mistakes and its first attack, where it has them."""
    cases = load_cases(assignment)
    if assignment not in REPRESENTATIVE:
        wanted = {"solution": 1, "blank": 1, "variant": 1, "mistake": 2, "attack": 1}
        chosen = []
        for case in cases:
            if wanted.get(case.kind, 0) > 0:
                wanted[case.kind] -= 1
                chosen.append(case)
        return chosen
    by_name = {case.name: case for case in cases}
    names = REPRESENTATIVE[assignment]
    missing = [name for name in names if name not in by_name]
    if missing:
        raise KeyError(f"the representative class of {assignment} names cases its simulated class "
                       f"lacks: {missing}")
    return [by_name[name] for name in names]
