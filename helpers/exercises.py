"""Self-check cells for the exercises at the end of each notebook.

>>> from helpers.exercises import check
>>> answer = None                     # the learner replaces None with their answer
>>> check(answer, expected=42, hint="Count the rows, not the columns.")
>>> check(0.00833, expected=1 / 120, sig_figs=3)   # a rounded answer is right at the precision asked for

``expected`` is computed in the check cell from the course's own code, never typed in. An exercise
whose answer is a decimal says the precision it wants ("to 3 significant figures") and its check
passes the same ``sig_figs``, so the solution's own rounded answer is accepted.
"""

from __future__ import annotations

import math


def check(answer, expected, *, hint: str = "", rel_tol: float = 1e-6, sig_figs: int | None = None) -> bool:
    """Compare ``answer`` with ``expected``, print what is wrong (or that it is right), return True if right.

    Numbers are compared with a relative tolerance ``rel_tol``, or, when ``sig_figs`` is given, to that
    many significant figures: any answer within one unit of the last asked-for digit of ``expected``
    passes (0.00833 for 1/120 with ``sig_figs=3``). Sequences are compared element by element;
    anything else with ``==``. ``None`` means "not answered yet" and is not an error.
    """
    if answer is None:
        print("Not answered yet: replace None with your answer and run this cell again.")
        return False
    if sig_figs is not None and (not isinstance(sig_figs, int) or sig_figs < 1):
        raise ValueError(f"sig_figs must be a positive integer, got {sig_figs!r}")
    ok = _same(answer, expected, rel_tol, sig_figs)
    if ok:
        print("Correct!" + (f" (checked to {sig_figs} significant figures)" if sig_figs else ""))
    else:
        precision = f" It is checked to {sig_figs} significant figures." if sig_figs else ""
        print(f"Not yet: your answer is {answer!r}.{precision}" + (f" Hint: {hint}" if hint else ""))
    return ok


def _same(a, b, rel_tol: float, sig_figs: int | None = None) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if sig_figs is not None and b != 0 and math.isfinite(b):
            last_digit = 10 ** (math.floor(math.log10(abs(b))) - sig_figs + 1)  # one unit of the last digit
            return abs(a - b) <= last_digit * (1 + 1e-9)
        return math.isclose(a, b, rel_tol=rel_tol, abs_tol=rel_tol)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y, rel_tol, sig_figs) for x, y in zip(a, b, strict=True))
    return a == b
