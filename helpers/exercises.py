"""Self-check cells for the exercises at the end of each notebook.

>>> from helpers.exercises import check
>>> answer = None                     # the learner replaces None with their answer
>>> check(answer, expected=42, hint="Count the rows, not the columns.")

``expected`` is computed in the check cell from the course's own code, never typed in.
"""

from __future__ import annotations

import math


def check(answer, expected, *, hint: str = "", rel_tol: float = 1e-6) -> bool:
    """Compare ``answer`` with ``expected``, print what is wrong (or that it is right), return True if right.

    Numbers are compared with a relative tolerance; sequences element by element; anything
    else with ``==``. ``None`` means "not answered yet" and is not an error.
    """
    if answer is None:
        print("Not answered yet: replace None with your answer and run this cell again.")
        return False
    ok = _same(answer, expected, rel_tol)
    if ok:
        print("Correct!")
    else:
        print(f"Not yet: your answer is {answer!r}." + (f" Hint: {hint}" if hint else ""))
    return ok


def _same(a, b, rel_tol: float) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=rel_tol, abs_tol=rel_tol)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y, rel_tol) for x, y in zip(a, b, strict=True))
    return a == b
